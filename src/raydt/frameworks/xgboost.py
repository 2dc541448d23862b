"""XGBoost on Ray Train: ``XGBoostTrainer`` (data-parallel, Ray's collective), built-in breast cancer model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from raydt.frameworks.base import FrameworkAdapter


class XGBoostAdapter(FrameworkAdapter):
    """Adapter for ``framework: xgboost``."""

    driver_modules = ("ray.train.xgboost",)

    def trainer_class(self) -> type[Any]:
        from ray.train.xgboost import XGBoostTrainer

        return XGBoostTrainer  # type: ignore[no-any-return]

    def builtin_loop(self) -> Callable[[dict[str, Any]], None]:
        from raydt.builtin.xgboost_bc import train_loop

        return train_loop
