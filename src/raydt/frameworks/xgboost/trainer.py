"""Built-in XGBoost trainer: a binary classifier on breast cancer, data-parallel across workers.

Hyperparameters (defaults in ``INFO``): ``numBoostRound``, ``maxDepth``, ``eta``, ``subsample``,
``minChildWeight``. Each worker trains on its own shard of the training rows (XGBoost's collective, set up by
Ray Train, combines them); every round reports ``train_logloss``, ``train_error``, ``val_logloss``,
``val_error`` with a checkpoint (the booster as Ray's ``RayTrainReportCallback`` saves it, beside
``raydt_meta.json``), and a restarted run continues from the last booster.
"""

from __future__ import annotations

from typing import Any

from raydt.frameworks.xgboost import INFO


# A per-worker loop reads top to bottom, as Ray Train's docs write one (data, model, resume, train,
# report); its pieces only make sense in this order, hence its length.
def train_loop(config: dict[str, Any]) -> None:
    """Ray Train per-worker loop."""
    import ray.train
    import xgboost
    from ray.train.xgboost import RayTrainReportCallback

    from raydt.frameworks.common import checkpoint_every, starting_checkpoint
    from raydt.frameworks.data import breast_cancer, checkpoint_meta, load, write_checkpoint_files
    from raydt.ray_compat import report_callback_with_files

    hp = INFO.hyperparameters(config)
    rounds = int(hp["numBoostRound"])
    data = load(config, breast_cancer)  # dataConfig: this worker's shard; else the bundled data, split by rank
    binary = data.num_classes == 2
    params = {
        "objective": "binary:logistic" if binary else "multi:softprob",
        "eval_metric": ["logloss", "error"] if binary else ["mlogloss", "merror"],
        "tree_method": "hist",
        "max_depth": int(hp["maxDepth"]),
        "eta": float(hp["eta"]),
        "subsample": float(hp["subsample"]),
        "min_child_weight": float(hp["minChildWeight"]),
        "seed": int(config.get("seed", 0)),
        "nthread": 1,
    }
    if not binary:
        params["num_class"] = data.num_classes
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    if data.mean is not None:  # the bundled data: every worker holds all of it, each trains on its part
        dtrain = xgboost.DMatrix(data.x_train[rank::world], label=data.y_train[rank::world])
    else:
        dtrain = xgboost.DMatrix(data.x_train, label=data.y_train)
    dval = xgboost.DMatrix(data.x_val, label=data.y_val)

    booster = None
    checkpoint = starting_checkpoint(config)
    if checkpoint is not None:
        booster = RayTrainReportCallback.get_model(checkpoint)
    done = booster.num_boosted_rounds() if booster is not None else 0
    if done >= rounds:
        return
    meta = checkpoint_meta(
        INFO.name,
        __name__,
        data,
        config,
        numFeatures=int(data.x_train.shape[1]),
        config={k: config[k] for k in config if isinstance(config[k], int | float | str)},
    )

    def add_files(path: str) -> None:
        write_checkpoint_files(path, meta, config)

    xgboost.train(
        params,
        dtrain,
        num_boost_round=rounds - done,
        evals=[(dtrain, "train"), (dval, "val")],
        xgb_model=booster,
        verbose_eval=False,
        callbacks=[
            report_callback_with_files(
                RayTrainReportCallback,
                add_files,
                metrics={  # same names for binary and multi-class (mlogloss / merror)
                    "train_logloss": "train-logloss" if binary else "train-mlogloss",
                    "train_error": "train-error" if binary else "train-merror",
                    "val_logloss": "val-logloss" if binary else "val-mlogloss",
                    "val_error": "val-error" if binary else "val-merror",
                },
                frequency=checkpoint_every(config),
            )
        ],
    )
