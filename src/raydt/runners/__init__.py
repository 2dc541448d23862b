"""One runner per mode: spec -> Ray -> result dict. Runners never parse raw JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib import import_module
from typing import Any, cast

from raydt.progress import ProgressView
from raydt.spec.loader import LoadedSpec

Runner = Callable[[LoadedSpec, ProgressView], dict[str, Any]]


@dataclass(frozen=True)
class Handoff:
    """What a caller gives a run that does not end on its own (a serve run): ``ready`` gets the result as soon
    as the endpoint answers (the CLI prints it then), and ``log_file`` is recorded for ``raydt serve status``."""

    ready: Callable[[dict[str, Any]], None] | None = None
    log_file: str | None = None


def runner(mode: str, handoff: Handoff | None = None) -> Runner:
    """The runner for ``mode`` (imported lazily)."""
    if mode == "train":
        from raydt.runners.train import run_train

        return run_train
    if mode == "serve":
        return partial(_serve, handoff=handoff or Handoff())
    if mode == "cluster":
        from raydt.runners.cluster import run_cluster

        return run_cluster
    if mode == "predict":  # raydt.runners.predict:run, by name (imported only by a predict run)
        return cast(Runner, import_module("raydt.runners.predict").run)
    from raydt.runners.tune import run_tune

    return run_tune


def _serve(loaded: Any, view: Any, handoff: Handoff) -> dict[str, Any]:
    """mode serve: one model (``runners.serve``) or several (``serveConfig.models``: ``runners.serve_models``)."""
    sc = loaded.spec.serve_config
    if sc is not None and sc.models:
        from raydt.runners.serve_models import run_models

        return run_models(loaded, view, handoff)
    from raydt.runners.serve import run_serve

    return run_serve(loaded, view, handoff)
