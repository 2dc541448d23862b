"""The one wrapper every training loop and trial function runs in: a ``Sampler`` from its first line to its last.

The runners wrap what they hand to Ray (``watched``): a Ray Train loop (train runs and distributed trials: each
worker samples itself), and the call of the loop or Tune function inside a trial process (1-worker trials and
Tune functions). Every framework goes through one of those, so all get it alike. The wrapper keeps the loop's
signature (``functools.wraps``: Ray Train and raydt's trials look at it) and is shipped by value with the loop.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from raydt.experiment import USAGE_DIR
from raydt.paths import is_remote
from raydt.utilisation.sampler import INTERVAL_S, Sampler

#: records of one process are told apart by a count (a reused process may run the same trial again: a retry)
_COUNT = itertools.count()


@dataclass(frozen=True)
class Reserved:
    """What one worker reserved: the plan's per-worker resources."""

    cpu: float
    gpu: float = 0.0
    memory_bytes: float | None = None

    @classmethod
    def of(cls, resources: dict[str, float]) -> Reserved:
        """From a plan's Ray resources per worker (``CPU``, ``GPU``, ``memory`` in bytes)."""
        memory = resources.get("memory")
        return cls(float(resources.get("CPU", 0.0)), float(resources.get("GPU", 0.0)), memory or None)

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cpu": self.cpu, "gpu": self.gpu}
        if self.memory_bytes:
            out["memoryBytes"] = self.memory_bytes
        return {"reserved": out}


def usage_folder(experiment_path: str) -> str | None:
    """Where the records go: ``<experiment>/raydt_usage`` (None: storage at a URI, which a worker cannot write
    with plain files; such runs have no utilisation figures)."""
    return None if is_remote(experiment_path) else os.path.join(experiment_path, USAGE_DIR)


def train_rank() -> int:
    """This worker's rank in its Ray Train run (0 outside one)."""
    try:
        import ray.train

        return int(ray.train.get_context().get_world_rank())
    except Exception:  # noqa: BLE001 - not in a Ray Train worker
        return 0


def begin(folder: str, owner: str, rank: int, reserved: Reserved, interval: float = INTERVAL_S) -> Sampler | None:
    """A started sampler whose record is ``<folder>/<owner>.<rank>.<pid>.<n>.json`` (None: it could not start)."""
    try:
        from raydt.utilisation.gpu import probe

        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{owner}.{rank}.{os.getpid()}.{next(_COUNT)}.json")
        record = {"owner": owner, "rank": rank, **reserved.record()}
        return Sampler(path, record, interval, probe(reserved.gpu)).start()
    except Exception:  # noqa: BLE001 - no figures rather than no training
        return None


def end(sampler: Sampler | None) -> None:
    if sampler is not None:
        try:
            sampler.stop()
        except Exception:  # noqa: BLE001 - as in begin
            pass


@contextmanager
def sampling(experiment_path: str, owner: str, reserved: Reserved, in_train_worker: bool = False) -> Iterator[None]:
    """Sample this process while the block runs (the trial functions' form of ``watched``)."""
    folder = usage_folder(experiment_path)
    sampler = begin(folder, owner, train_rank() if in_train_worker else 0, reserved) if folder else None
    try:
        yield
    finally:
        end(sampler)


def watched(
    loop: Callable[..., Any], experiment_path: str, owner: str, reserved: Reserved, in_train_worker: bool
) -> Callable[..., Any]:
    """``loop``, sampled while it runs; ``owner``: the trial id, or ``train`` for a train run's workers;
    ``in_train_worker``: the loop runs on Ray Train workers (the rank is read there)."""
    if usage_folder(experiment_path) is None:
        return loop

    @functools.wraps(loop)
    def run(*args: Any, **kwargs: Any) -> Any:
        with sampling(experiment_path, owner, reserved, in_train_worker):
            return loop(*args, **kwargs)

    return run
