"""Built-in XGBoost trainer: a binary classifier on breast cancer, data-parallel across workers.

Hyperparameters: ``numBoostRound``, ``maxDepth``, ``eta``, ``subsample``, ``minChildWeight``. Each
worker trains on its own shard of the training rows (XGBoost's collective, set up by Ray Train,
combines them); every round reports ``train_logloss``, ``train_error``, ``val_logloss``, ``val_error``
with a checkpoint, and a restarted run continues from the last booster.
"""

from __future__ import annotations

import json
import os
from typing import Any

META_FILE = "raydt_meta.json"


def train_loop(config: dict[str, Any]) -> None:
    """Ray Train per-worker loop."""
    import ray.train
    import xgboost
    from ray.train.xgboost import RayTrainReportCallback

    from raydt.builtin.common import checkpoint_every, starting_checkpoint
    from raydt.builtin.data import breast_cancer

    rounds = int(config.get("numBoostRound", 50))
    params = {
        "objective": "binary:logistic",
        "eval_metric": ["logloss", "error"],
        "tree_method": "hist",
        "max_depth": int(config.get("maxDepth", 4)),
        "eta": float(config.get("eta", 0.1)),
        "subsample": float(config.get("subsample", 0.9)),
        "min_child_weight": float(config.get("minChildWeight", 1.0)),
        "seed": int(config.get("seed", 0)),
        "nthread": 1,
    }
    data = breast_cancer()
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    dtrain = xgboost.DMatrix(data.x_train[rank::world], label=data.y_train[rank::world])
    dval = xgboost.DMatrix(data.x_val, label=data.y_val)

    booster = None
    checkpoint = starting_checkpoint(config)
    if checkpoint is not None:
        booster = RayTrainReportCallback.get_model(checkpoint)
    done = booster.num_boosted_rounds() if booster is not None else 0
    if done >= rounds:
        return
    meta = {
        "framework": "xgboost",
        "model": "raydt.builtin.xgboost_bc",
        "numFeatures": int(data.x_train.shape[1]),
        "numClasses": 2,
        "preprocessing": {"standardize": {"mean": data.mean.tolist(), "std": data.std.tolist()}},
        "config": {k: config[k] for k in config if isinstance(config[k], int | float | str)},
    }

    class _Report(RayTrainReportCallback):  # type: ignore[misc]
        def _save_and_report_checkpoint(self, report_dict: dict[str, Any], model: Any) -> None:
            with self._get_checkpoint(model=model) as ckpt:
                if ckpt is not None:
                    with open(os.path.join(ckpt.path, META_FILE), "w", encoding="utf-8") as fh:
                        json.dump(meta, fh)
                ray.train.report(report_dict, checkpoint=ckpt)

    xgboost.train(
        params,
        dtrain,
        num_boost_round=rounds - done,
        evals=[(dtrain, "train"), (dval, "val")],
        xgb_model=booster,
        verbose_eval=False,
        callbacks=[
            _Report(
                metrics={
                    "train_logloss": "train-logloss",
                    "train_error": "train-error",
                    "val_logloss": "val-logloss",
                    "val_error": "val-error",
                },
                frequency=checkpoint_every(config),
            )
        ],
    )
