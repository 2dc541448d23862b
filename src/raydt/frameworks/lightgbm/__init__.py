"""LightGBM on Ray Train: ``LightGBMTrainer`` (data-parallel: LightGBM's network set up by Ray Train);
built-in: a classifier on scikit-learn's breast cancer data, with LightGBM's own hyperparameter names.
Trains on CPU: it declares no GPU support."""

from __future__ import annotations

from raydt.frameworks.base import FrameworkInfo

INFO = FrameworkInfo(
    name="lightgbm",
    package=__name__,
    trainer_class="ray.train.lightgbm:LightGBMTrainer",
    extra="lightgbm",
    modules=("lightgbm",),
    distributions=("lightgbm",),
    default_metric="val_logloss",
    default_mode="min",
    builtin_metrics=("val_logloss", "val_error", "train_logloss", "train_error"),
    builtin_params={
        "num_boost_round": 50,
        "learning_rate": 0.1,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.9,
    },
    param_aliases={
        "numBoostRound": "num_boost_round",
        "learningRate": "learning_rate",
        "numLeaves": "num_leaves",
        "minDataInLeaf": "min_data_in_leaf",
        "featureFraction": "feature_fraction",
    },
    param_max={"learning_rate": 1.0, "feature_fraction": 1.0},
    param_min={"num_leaves": 2},
    epochs_param="num_boost_round",
    iteration_name="round",
    supports_gpu=False,
    description="Ray Train LightGBMTrainer (data-parallel, CPU); built-in: breast cancer classifier",
)
