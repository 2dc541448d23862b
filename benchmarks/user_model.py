"""The model and data of the user-loop benchmark (bench_user_loop.py), written as a PyTorch user writes them.

The same functions serve raydt's loop (``trainConfig.model: ../user_model.py:build_mlp``), the hand-written
Ray Train loop and the plain one-process loop, so every case trains the same thing. The only addition is a
clock: the model notes the time whenever it is switched to training mode (``model.train()``, called once per
epoch by every loop), so each case's epochs are timed the same way, inside the training process, without Ray's
start-up and without touching raydt's loop. Lines go to ``$BENCH_WORKDIR/epochs-<pid>.log``.
"""

from __future__ import annotations

import os
import time
from typing import Any

import torch
from torch import nn
from torch.utils.data import TensorDataset


class TimedMLP(nn.Module):
    """An MLP classifier (``layers`` hidden layers of ``hidden`` units) that logs the start of every epoch."""

    def __init__(self, features: int, hidden: int, layers: int, classes: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        width = features
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.net = nn.Sequential(*blocks, nn.Linear(width, classes))
        workdir = os.environ.get("BENCH_WORKDIR")  # set by the benchmark's harness: no log outside it
        self._log = os.path.join(workdir, f"epochs-{os.getpid()}.log") if workdir else None

    def forward(self, x: Any) -> Any:
        return self.net(x)

    def train(self, mode: bool = True) -> TimedMLP:
        if self._log and mode and not self.training:  # eval -> train: an epoch starts (build_mlp leaves it in eval)
            with open(self._log, "a") as fh:
                fh.write(f"epoch {time.perf_counter()} {time.time()} {torch.get_num_threads()}\n")
        return super().train(mode)


def build_mlp(config: dict[str, Any]) -> nn.Module:
    """The model from the config (``features``, ``hidden``, ``layers``, ``classes``); starts in eval mode so
    that the first ``model.train()`` of epoch 1 is logged too."""
    model = TimedMLP(
        int(config.get("features", 64)),
        int(config.get("hidden", 256)),
        int(config.get("layers", 2)),
        int(config.get("classes", 10)),
    )
    return model.eval()


def synthetic(config: dict[str, Any]) -> tuple[TensorDataset, TensorDataset]:
    """``rows`` training rows (plus a fifth for validation) of ``features`` Gaussian features; the class is the
    argmax of a fixed random linear map, so the task is learnable. Seeded: every process builds the same data."""
    rows, features, classes = int(config.get("rows", 40_000)), int(config.get("features", 64)), 10
    gen = torch.Generator().manual_seed(0)
    total = rows + rows // 5
    x = torch.randn(total, features, generator=gen)
    teacher = torch.randn(features, int(config.get("classes", classes)), generator=gen)
    y = (x @ teacher).argmax(dim=1)
    return TensorDataset(x[:rows], y[:rows]), TensorDataset(x[rows:], y[rows:])


def epoch_log(workdir: str) -> list[list[tuple[float, float]]]:
    """Per training process that logged in ``workdir``: its epochs' starts as (perf_counter, time.time)."""
    out = []
    for name in sorted(os.listdir(workdir)):
        if name.startswith("epochs-") and name.endswith(".log"):
            with open(os.path.join(workdir, name)) as fh:
                out.append([(float(f[1]), float(f[2])) for f in (line.split() for line in fh) if f[:1] == ["epoch"]])
    return out


def epoch_seconds(workdir: str) -> list[float]:
    """Per-epoch seconds (start of one epoch to the start of the next, so training, validation, checkpoint
    and report are all inside) of every training process that logged in ``workdir``: the median process's
    list, or [] when none logged two epochs."""
    lists = [[b[0] - a[0] for a, b in zip(s, s[1:], strict=False)] for s in epoch_log(workdir) if len(s) >= 2]
    lists.sort(key=sum)
    return lists[len(lists) // 2] if lists else []


def first_epoch_at(workdir: str) -> float | None:
    """When (time.time) the first training process started its first epoch."""
    firsts = [s[0][1] for s in epoch_log(workdir) if s]
    return min(firsts) if firsts else None
