"""XGBoost on Ray Train: ``XGBoostTrainer`` (data-parallel, XGBoost's collective set up by Ray Train);
built-in: a classifier on scikit-learn's breast cancer data."""

from __future__ import annotations

from raydt.frameworks.base import FrameworkInfo

INFO = FrameworkInfo(
    name="xgboost",
    package=__name__,
    trainer_class="ray.train.xgboost:XGBoostTrainer",
    extra="xgboost",
    modules=("xgboost",),
    distributions=("xgboost",),
    default_metric="val_logloss",
    default_mode="min",
    builtin_metrics=("val_logloss", "val_error", "train_logloss", "train_error"),
    builtin_params={"numBoostRound": 50, "maxDepth": 4, "eta": 0.1, "subsample": 0.9, "minChildWeight": 1.0},
    param_aliases={
        "num_boost_round": "numBoostRound",
        "max_depth": "maxDepth",
        "learning_rate": "eta",
        "min_child_weight": "minChildWeight",
    },
    param_max={"subsample": 1.0, "eta": 1.0},
    epochs_param="numBoostRound",
    iteration_name="round",
    description="Ray Train XGBoostTrainer (data-parallel); built-in: breast cancer classifier",
)
