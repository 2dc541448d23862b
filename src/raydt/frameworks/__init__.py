"""One package per framework (``frameworks/<name>/``), all the same shape (see ``base``), listed in
``raydt.registry.FRAMEWORKS``. Shared by every built-in trainer: ``checkpoint_format`` (what a built-in
checkpoint holds), ``common`` (raydt's settings in the loop config, checkpoint cadence, where to resume
from) and ``data`` (the bundled datasets, or this worker's Ray Data shard)."""

from __future__ import annotations

import importlib.util

from raydt.errors import MissingDependencyError
from raydt.frameworks.base import FrameworkAdapter, FrameworkInfo


def adapter(info: FrameworkInfo) -> FrameworkAdapter:
    """The adapter for ``info``; fails with the extra to install when the framework is missing."""
    missing = [m for m in info.modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(
            f"framework '{info.name}' needs {', '.join(missing)}, which is not installed",
            hint=f"pip install 'ray-distributed-trainer[{info.extra}]'",
        )
    return FrameworkAdapter(info)


__all__ = ["FrameworkAdapter", "FrameworkInfo", "adapter"]
