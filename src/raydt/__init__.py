"""raydt: one declarative spec in, distributed training / tuning / cluster status on Ray out.

    >>> import raydt
    >>> result = raydt.run({"mode": "train", "config": {"numWorkers": 2}})   # doctest: +SKIP
    >>> result["status"], result["results"]["bestMetric"]                    # doctest: +SKIP

Importing raydt never imports Ray or an ML framework.
"""

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
from raydt.errors import RaydtError, RunError, SpecError

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
