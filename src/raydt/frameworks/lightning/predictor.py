"""Serving a Lightning run's checkpoint: the module rebuilt with the user's own ``model`` reference and the saved
config, its weights from ``model.pt``, on CPU. The checkpoint has the PyTorch user loop's layout, so the PyTorch
user predictor does the work: ``mode: serve`` answers class labels for a classifier (``load``), a regression
checkpoint is served by it directly (``serving.loading``), and ``serveConfig.predictorPath:
raydt.frameworks.lightning.predictor:Predictor`` names it here for either."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from raydt.frameworks.pytorch.user.predictor import Predictor

__all__ = ["Predictor", "load"]


def load(checkpoint_dir: str, meta: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Preprocessed rows (float32, flattened) -> class probabilities, for the built-in predictor."""
    if "inputShape" not in meta:
        raise ValueError(
            f"{checkpoint_dir}: the run's batches were not (inputs, targets) pairs, so raydt does not know the "
            "module's input shape; serve it with serveConfig.predictorPath (your predictor class)"
        )
    model: Callable[[np.ndarray], np.ndarray] = Predictor(checkpoint_dir).flat_probabilities
    return model
