"""Serving the built-in PyTorch checkpoint: the MLP rebuilt from ``raydt_meta.json``, its weights from
``model.pt``, on CPU."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from raydt.frameworks.common import softmax
from raydt.frameworks.pytorch.trainer import MODEL_FILE, build_model


def load(checkpoint_dir: str, meta: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Preprocessed rows (float32) -> class probabilities (a trainConfig.model classifier: ``user.predictor``)."""
    import torch

    if "userModel" in meta:
        from raydt.frameworks.pytorch.user.predictor import Predictor

        return Predictor(checkpoint_dir).flat_probabilities

    model = build_model(int(meta["inputSize"]), int(meta["hiddenSize"]), int(meta["numClasses"]))
    state = torch.load(os.path.join(checkpoint_dir, MODEL_FILE), weights_only=False, map_location="cpu")
    model.load_state_dict(state["model"])
    model.eval()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return np.asarray(softmax(model(torch.from_numpy(x)).numpy()))

    return run
