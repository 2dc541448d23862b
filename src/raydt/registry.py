"""Registries: the single source of truth that validation, ``raydt schema``, the CLI and docs read.

Nothing here imports Ray or an ML framework: each entry names its adapter by dotted path and is
imported only when a run needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MetricMode = Literal["min", "max"]

#: The frameworks the seed's input schema names; `trainConfig.framework` accepts exactly these.
SEED_FRAMEWORKS: tuple[str, ...] = ("pytorch", "tensorflow", "xgboost")


@dataclass(frozen=True)
class FrameworkInfo:
    """What raydt knows about a framework before importing anything heavy."""

    name: str
    adapter: str  # "module:Class" implementing raydt.frameworks.base.FrameworkAdapter
    extra: str  # pip extra that installs the framework: ray-distributed-trainer[<extra>]
    modules: tuple[str, ...]  # importable modules the adapter needs
    default_metric: str
    default_mode: MetricMode
    builtin_metrics: tuple[str, ...]  # metrics the built-in default trainer reports each epoch
    builtin_params: dict[str, object] = field(default_factory=dict)  # hyperparameters and defaults
    param_aliases: dict[str, str] = field(default_factory=dict)  # snake_case alias -> camelCase
    supports_gpu: bool = True
    description: str = ""


FRAMEWORKS: dict[str, FrameworkInfo] = {
    "pytorch": FrameworkInfo(
        name="pytorch",
        adapter="raydt.frameworks.pytorch:TorchAdapter",
        extra="pytorch",
        modules=("torch",),
        default_metric="val_loss",
        default_mode="min",
        builtin_metrics=("train_loss", "val_loss", "val_accuracy", "epoch"),
        builtin_params={"lr": 0.01, "batchSize": 32, "epochs": 5, "hiddenSize": 64},
        param_aliases={"batch_size": "batchSize", "hidden_size": "hiddenSize", "learning_rate": "lr"},
        description="Ray Train TorchTrainer (DDP); built-in: MLP on scikit-learn's digits",
    ),
}


def framework(name: str) -> FrameworkInfo:
    """The registry entry for ``name`` (callers validate the name first)."""
    return FRAMEWORKS[name]
