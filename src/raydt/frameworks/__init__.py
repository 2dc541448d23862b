"""One adapter per framework, all the same shape (``base.FrameworkAdapter``), found via the registry."""

from __future__ import annotations

import importlib
import importlib.util

from raydt.errors import MissingDependencyError
from raydt.frameworks.base import FrameworkAdapter
from raydt.registry import FrameworkInfo


def adapter(info: FrameworkInfo) -> FrameworkAdapter:
    """The adapter for ``info``; fails with the extra to install when the framework is missing."""
    missing = [m for m in info.modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(
            f"framework '{info.name}' needs {', '.join(missing)}, which is not installed",
            hint=f"pip install 'ray-distributed-trainer[{info.extra}]'",
        )
    module_name, _, class_name = info.adapter.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    instance: FrameworkAdapter = cls(info)
    return instance


__all__ = ["FrameworkAdapter", "adapter"]
