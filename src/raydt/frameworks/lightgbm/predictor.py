"""Serving the built-in LightGBM checkpoint: the booster saved as ``model.txt``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from raydt.frameworks.lightgbm.trainer import MODEL_FILE


def load(checkpoint_dir: str, meta: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Preprocessed rows (float32) -> class probabilities."""
    import lightgbm

    booster = lightgbm.Booster(model_file=os.path.join(checkpoint_dir, MODEL_FILE))

    def run(x: np.ndarray) -> np.ndarray:
        out = np.asarray(booster.predict(x), dtype=np.float64)
        return out if out.ndim == 2 else np.stack([1.0 - out, out], axis=1)  # multiclass | binary

    return run
