"""Serving the built-in TensorFlow checkpoint: the Keras MLP rebuilt from ``raydt_meta.json``, its weights from
``model.weights.h5``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from raydt.frameworks.common import softmax
from raydt.frameworks.tensorflow.trainer import WEIGHTS_FILE, build_model


def load(checkpoint_dir: str, meta: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Preprocessed rows (float32) -> class probabilities."""
    model = build_model(int(meta["inputSize"]), int(meta["hiddenSize"]), int(meta["numClasses"]))
    model.load_weights(os.path.join(checkpoint_dir, WEIGHTS_FILE))

    def run(x: np.ndarray) -> np.ndarray:
        return np.asarray(softmax(np.asarray(model(x, training=False))))

    return run
