"""One runner per mode: spec -> Ray -> result dict. Runners never parse raw JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from raydt.progress import ProgressView
from raydt.spec.loader import LoadedSpec

Runner = Callable[[LoadedSpec, ProgressView], dict[str, Any]]


def runner(mode: str) -> Runner:
    """The runner for ``mode`` (imported lazily)."""
    if mode == "train":
        from raydt.runners.train import run_train

        return run_train
    if mode == "serve":
        from raydt.runners.serve import run_serve

        return run_serve
    if mode == "cluster":
        from raydt.runners.cluster import run_cluster

        return run_cluster
    from raydt.runners.tune import run_tune

    return run_tune
