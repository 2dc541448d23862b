"""PyTorch on Ray Train: ``TorchTrainer`` (DDP), built-in MLP on digits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from raydt.frameworks.base import FrameworkAdapter


class TorchAdapter(FrameworkAdapter):
    """Adapter for ``framework: pytorch``."""

    driver_modules = ("ray.train.torch",)

    def trainer_class(self) -> type[Any]:
        from ray.train.torch import TorchTrainer

        return TorchTrainer  # type: ignore[no-any-return]

    def builtin_loop(self) -> Callable[[dict[str, Any]], None]:
        from raydt.builtin.torch_mlp import train_loop

        return train_loop
