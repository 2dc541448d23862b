"""raydt: one declarative spec in, distributed training / tuning / cluster status on Ray out.

    >>> import raydt
    >>> result = raydt.run({"mode": "train", "config": {"numWorkers": 2}})   # doctest: +SKIP
    >>> result["status"], result["results"]["bestMetric"]                    # doctest: +SKIP

Importing raydt never imports Ray or an ML framework, and imports the Python API (``raydt.api``) only when one
of its functions is first used: the ``raydt`` command's hand-over to a warm runner and every trial's process
import raydt's own modules without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from raydt.errors import RaydtError, RunError, SpecError

if TYPE_CHECKING:
    from raydt.api import (
        cluster_down,
        cluster_status,
        cluster_up,
        k8s_manifests,
        resume,
        run,
        run_detached,
        serve_shutdown,
        serve_status,
        serve_update,
        validate,
    )

__version__ = "0.1.0"

__all__ = [
    "RaydtError",
    "RunError",
    "SpecError",
    "__version__",
    "cluster_down",
    "cluster_status",
    "cluster_up",
    "k8s_manifests",
    "resume",
    "run",
    "run_detached",
    "serve_shutdown",
    "serve_status",
    "serve_update",
    "validate",
]


def __getattr__(name: str) -> Any:
    """The API's functions, imported from ``raydt.api`` when first used."""
    if name in __all__:
        return getattr(importlib.import_module("raydt.api"), name)
    raise AttributeError(f"module 'raydt' has no attribute {name!r}")
