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


def train_loop(config: dict[str, Any]) -> None:
    """Ray Train per-worker loop."""
    import xgboost
    from ray.train.xgboost import RayTrainReportCallback

    from raydt.frameworks import gbdt

    hp = INFO.hyperparameters(config)
    rounds = int(hp["numBoostRound"])
    data, x, y, _ = gbdt.worker_rows(config)  # dataConfig: this worker's shard; else its part of the bundled data
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
    dtrain = xgboost.DMatrix(x, label=y)
    dval = xgboost.DMatrix(data.x_val, label=data.y_val)
    booster, done = gbdt.resumed(config, RayTrainReportCallback, lambda b: b.num_boosted_rounds())
    if done >= rounds:
        return
    meta = gbdt.checkpoint_meta(INFO.name, __name__, data, config, config)
    metrics = {  # same names for binary and multi-class (mlogloss / merror)
        "train_logloss": "train-logloss" if binary else "train-mlogloss",
        "train_error": "train-error" if binary else "train-merror",
        "val_logloss": "val-logloss" if binary else "val-mlogloss",
        "val_error": "val-error" if binary else "val-merror",
    }
    xgboost.train(
        params,
        dtrain,
        num_boost_round=rounds - done,
        evals=[(dtrain, "train"), (dval, "val")],
        xgb_model=booster,
        verbose_eval=False,
        callbacks=[gbdt.report_callback(RayTrainReportCallback, config, meta, metrics)],
    )
