"""TensorFlow on Ray Train: ``TensorflowTrainer`` with ``MultiWorkerMirroredStrategy``.

Keras 3 (TF 2.21's default) fails under MultiWorkerMirroredStrategy on Ray Train, so workers run
legacy Keras (the ``tf-keras`` package) via ``TF_USE_LEGACY_KERAS=1``, set before TensorFlow imports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from raydt.frameworks.base import FrameworkAdapter


class TensorflowAdapter(FrameworkAdapter):
    """Adapter for ``framework: tensorflow``."""

    driver_modules = ("ray.train.tensorflow",)

    def trainer_class(self) -> type[Any]:
        from ray.train.tensorflow import TensorflowTrainer

        return TensorflowTrainer  # type: ignore[no-any-return]

    def builtin_loop(self) -> Callable[[dict[str, Any]], None]:
        from raydt.builtin.tf_mlp import train_loop

        return train_loop

    def worker_env(self) -> dict[str, str]:
        return {"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
