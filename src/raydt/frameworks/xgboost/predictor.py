"""Serving the built-in XGBoost checkpoint: the booster Ray's ``RayTrainReportCallback`` saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def load(checkpoint_dir: str, meta: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Preprocessed rows (float32) -> class probabilities."""
    import ray.train
    import xgboost
    from ray.train.xgboost import RayTrainReportCallback

    booster = RayTrainReportCallback.get_model(ray.train.Checkpoint.from_directory(checkpoint_dir))

    def run(x: np.ndarray) -> np.ndarray:
        out = np.asarray(booster.predict(xgboost.DMatrix(x)), dtype=np.float64)
        return out if out.ndim == 2 else np.stack([1.0 - out, out], axis=1)  # multi:softprob | binary

    return run
