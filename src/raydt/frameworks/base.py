"""The shape every framework adapter has."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from raydt.registry import FrameworkInfo


class FrameworkAdapter(ABC):
    """Maps a framework onto Ray Train: its trainer class, built-in loop and worker environment."""

    #: modules the driver imports to build the trainer (warmed while Ray starts)
    driver_modules: tuple[str, ...] = ("ray.train",)

    def __init__(self, info: FrameworkInfo) -> None:
        self.info = info

    @abstractmethod
    def trainer_class(self) -> type[Any]:
        """The Ray Train ``DataParallelTrainer`` subclass (e.g. ``TorchTrainer``)."""

    @abstractmethod
    def builtin_loop(self) -> Callable[[dict[str, Any]], None]:
        """The per-worker loop of the built-in default trainer."""

    def worker_env(self) -> dict[str, str]:
        """Environment variables every training worker needs (set before the framework imports)."""
        return {}
