"""``raydt cluster up | down`` (and ``raydt.cluster_up`` / ``raydt.cluster_down``): one result document and
its exit code; never raises. ``status`` is ``mode: cluster`` (see ``api.cluster_status``)."""

from __future__ import annotations

from typing import Any

from raydt import results
from raydt.errors import RaydtError


def up(flags: dict[str, Any], spec: Any = None) -> tuple[dict[str, Any], int]:
    """Start the lasting cluster from ``flags`` (None values: not given) over ``spec``'s ``config.rayInit``."""
    from raydt.clusters import options, start

    try:
        ray_init: dict[str, Any] = {}
        if spec is not None:
            from raydt.spec import loader

            ray_init = dict(loader.load(spec).spec.config.ray_init)
        cluster = start.up(options.build(flags, ray_init))
    except RaydtError as err:
        return results.error_result(err), err.exit_code
    doc = results.Document(mode="cluster", lasting_cluster=cluster)
    if cluster.get("warnings"):
        doc.warnings = list(cluster["warnings"])
    return doc.dump(), 0


def down() -> tuple[dict[str, Any], int]:
    """Stop the lasting cluster: exactly the processes it started, by pid."""
    from raydt.clusters import start

    try:
        cluster = start.down()
    except RaydtError as err:
        return results.error_result(err), err.exit_code
    return results.Document(mode="cluster", lasting_cluster=cluster).dump(), 0
