"""The optimizer side of raydt's loop for a user model: the optimizer, the LR schedule (stepped every optimizer
step) and the AMP scaler, built from the loop's keys and saved/restored together with a checkpoint."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class Optimizing:
    """What one optimizer step touches (``scheduler`` None: a constant learning rate)."""

    optimizer: Any
    scaler: Any
    scheduler: Any = None

    def state(self) -> dict[str, Any]:
        out = {"optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict()}
        if self.scheduler is not None:
            out["scheduler"] = self.scheduler.state_dict()
        return out

    def load(self, state: dict[str, Any]) -> None:
        """What ``state`` holds (FSDP's optimizer state is loaded by ``strategy.load`` instead)."""
        if "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])
        if "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        if self.scheduler is not None and "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])


def build(hp: dict[str, Any], parameters: Any, steps_per_epoch: int, device_type: str) -> Optimizing:
    """Optimizer, schedule and scaler (enabled for fp16 only) for ``hp``."""
    import torch

    optimizer = make_optimizer(hp, parameters)
    scaler = torch.amp.GradScaler(device_type, enabled=hp["precision"] == "fp16")
    return Optimizing(optimizer, scaler, make_scheduler(hp, optimizer, steps_per_epoch))


def make_optimizer(hp: dict[str, Any], parameters: Any) -> Any:
    """adam | adamw | sgd with lr, weightDecay (and momentum for sgd)."""
    import torch

    lr, decay = float(hp["lr"]), float(hp["weightDecay"])
    name = str(hp["optimizer"])
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=float(hp["momentum"]), weight_decay=decay)
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}.get(name)
    if cls is None:
        raise ValueError(f"optimizer must be adam, adamw or sgd (got {name!r})")
    return cls(parameters, lr=lr, weight_decay=decay)


def make_scheduler(hp: dict[str, Any], optimizer: Any, steps_per_epoch: int) -> Any:
    """The LR schedule over every optimizer step of the run (None: constant, no warmup)."""
    import torch

    name, total = str(hp["schedule"]), max(1, steps_per_epoch * int(hp["epochs"]))
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=float(hp["lr"]), total_steps=total)
    warm = min(int(hp["warmupEpochs"]) * steps_per_epoch, total)
    if name == "none" and warm == 0:
        return None
    return torch.optim.lr_scheduler.LambdaLR(optimizer, Factor(name, warm, total))


@dataclass(frozen=True)
class Factor:
    """The LR multiplier at a step: linear warmup, then cosine to 0, or x0.1 at 1/3 and 2/3 of the rest."""

    name: str
    warm: int
    total: int

    def __call__(self, step: int) -> float:
        if step < self.warm:
            return (step + 1) / self.warm
        done = min((step - self.warm) / max(1, self.total - self.warm), 1.0)
        if self.name == "cosine":
            return 0.5 * (1 + math.cos(math.pi * done))
        if self.name == "step":
            return float(0.1 ** int(min(done, 0.999) * 3))
        return 1.0
