"""Checks that need the running cluster (``--address``, the spec's ``config.address``, or the cluster ``raydt
cluster up`` started): nodes and resources, versions on every node (a tiny task pinned to each), token
authentication and the dashboard's binding, and whether every node reaches the storage folder."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from raydt.diagnose.checks import Check, fail, ok, warn
from raydt.diagnose.host import PACKAGES, dashboard_check
from raydt.plan import WorkerPlan

NODE_TIMEOUT_S = 60.0


def node_report(marker: str | None, packages: tuple[str, ...]) -> dict[str, Any]:
    """What one node has (runs on that node): versions read from metadata, and whether it sees ``marker``."""
    import importlib.metadata
    import os
    import platform
    import socket

    versions: dict[str, str | None] = {}
    for dist in packages:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    row: dict[str, Any] = {"host": socket.gethostname(), "python": platform.python_version(), "versions": versions}
    if marker is not None:
        folder = os.path.dirname(marker)
        row["seesMarker"] = os.path.exists(marker)
        row["canWrite"] = os.access(folder, os.W_OK)
    return row


def per_node(marker: str | None) -> dict[str, dict[str, Any]]:
    """``node_report`` on every live node: node id -> its row (or {"error": ...})."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    task = ray.remote(num_cpus=0, max_retries=0)(node_report)
    refs = {}
    for node in ray.nodes():
        if node.get("Alive"):
            strategy = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            refs[node["NodeID"]] = task.options(scheduling_strategy=strategy).remote(marker, PACKAGES)
    out: dict[str, dict[str, Any]] = {}
    for node_id, ref in refs.items():
        try:
            out[node_id] = ray.get(ref, timeout=NODE_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - a node that cannot answer is itself a finding
            out[node_id] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    return out


def versions_check(rows: dict[str, dict[str, Any]], driver: dict[str, Any]) -> Check:
    """Python and every package version must be the same on each node and the driver (Ray requires it)."""
    differ: list[str] = []
    keys = ["python", *PACKAGES]
    for key in keys:
        seen: dict[str, list[str]] = {}
        for who, row in [("driver", driver), *[(n[:8], r) for n, r in rows.items() if "error" not in r]]:
            value = row["python"] if key == "python" else row["versions"].get(key)
            seen.setdefault(str(value), []).append(who)
        if len(seen) > 1:
            differ.append(f"{key}: " + "; ".join(f"{v} on {', '.join(w)}" for v, w in sorted(seen.items())))
    failed = [f"node {n[:8]}: {r['error']}" for n, r in rows.items() if "error" in r]
    found = f"{len(rows)} node(s): python {driver['python']}, ray {driver['versions'].get('ray')}"
    if differ:
        return fail(
            "versions",
            "differ across nodes: " + " | ".join(differ),
            "Install the same Python and package versions on every node and the driver (one image, or "
            "one pinned requirements file); Ray refuses or misbehaves otherwise.",
        )
    if failed:
        return warn("versions", f"{found}; could not ask " + "; ".join(failed), "Check those nodes' raylet logs.")
    return ok("versions", found + " on every node")


def auth_check(dashboard_url: str | None) -> Check:
    """Ask the dashboard's REST API for its version without a token: 401 means token authentication is on."""
    import urllib.error
    import urllib.request

    if not dashboard_url:
        return warn("auth (cluster)", "the cluster has no dashboard: token authentication not checked", "")
    url = (dashboard_url if "://" in dashboard_url else f"http://{dashboard_url}").rstrip("/") + "/api/version"
    try:
        with urllib.request.urlopen(url, timeout=5):
            pass
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            return ok("auth (cluster)", f"token authentication on (the dashboard answered {exc.code} without a token)")
        return warn("auth (cluster)", f"the dashboard answered HTTP {exc.code} at {url}", "")
    except OSError as exc:
        return warn(
            "auth (cluster)", f"the dashboard at {url} did not answer ({exc})", "Check the dashboard's address."
        )
    return warn(
        "auth (cluster)",
        f"token authentication off: {url} answered without a token",
        "Start the cluster with RAY_AUTH_MODE=token (raydt cluster up does): without it anyone who reaches "
        "the dashboard or GCS port can run code on the cluster.",
    )


def storage_checks(storage: str, shared: bool, status: dict[str, Any]) -> list[Check]:
    """A multi-node cluster needs storage every node reaches: a local path without sharedStorage fails at once
    (preflight's rule); with sharedStorage, a marker written here must be visible from every node."""
    from raydt.errors import SpecError
    from raydt.preflight import check_storage

    try:
        check_storage(storage, shared, status)
    except SpecError as err:
        issue = err.issues[0]
        return [fail("storage (nodes)", f"{storage} {issue.rule}", issue.hint)]
    if status["numNodes"] <= 1 or "://" in storage:
        return [ok("storage (nodes)", f"{status['numNodes']} node(s); {storage}")]
    marker = Path(storage) / f".raydt-doctor-{secrets.token_hex(4)}"
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("raydt doctor\n")
    except OSError as exc:
        return [fail("storage (nodes)", f"cannot write {marker}: {exc}", "Fix runConfig.storagePath.")]
    try:
        rows = per_node(str(marker))
    finally:
        marker.unlink(missing_ok=True)
    blind = [n[:8] for n, r in rows.items() if not r.get("seesMarker") or not r.get("canWrite")]
    if blind:
        return [
            fail(
                "storage (nodes)",
                f"node(s) {', '.join(blind)} do not see {storage} (a file written here "
                "was missing there, or the folder is read-only)",
                "Mount the same shared filesystem at that path on every node, or use a URI (s3://...).",
            )
        ]
    return [ok("storage (nodes)", f"every node ({len(rows)}) sees and can write {storage}")]


def cluster_checks(address: str, workers: WorkerPlan | None, spec_bits: dict[str, Any]) -> list[Check]:
    """Connect to ``address`` and check it; ``spec_bits``: storage, shared, pendingTimeoutS, useGpu (or empty)."""
    import ray

    from raydt import ray_session
    from raydt.errors import RaydtError

    try:
        ray_session.check_reachable(address)
        with ray_session.connect(address, dashboard=False):
            status = ray_session.cluster_status()
            url = ray.init(ignore_reinit_error=True).address_info.get("webui_url")  # Ray's documented way
            driver = node_report(None, PACKAGES)
            checks = [_cluster_found(address, status), versions_check(per_node(None), driver)]
            checks += [
                auth_check(url),
                dashboard_check(str(url), "the cluster's", "dashboard (cluster)")
                if url
                else ok("dashboard (cluster)", "none"),
            ]
            checks += _spec_fit(status, workers, spec_bits)
    except RaydtError as err:
        return [fail("cluster", f"{address}: {err.message}", err.hint)]
    return checks


def _spec_fit(status: dict[str, Any], workers: WorkerPlan | None, spec_bits: dict[str, Any]) -> list[Check]:
    """GPUs Ray sees; with a spec, preflight's placement check and the storage every node must reach."""
    from raydt.errors import InfeasibleResourcesError
    from raydt.preflight import admit

    gpus = float(status["totalGpu"])
    found = f"{gpus:g} GPU(s) in the cluster"
    if spec_bits.get("useGpu") and not gpus:
        checks = [fail("gpu (ray)", found, "Add GPU nodes, or set config.useGpu: false.")]
    else:
        checks = [ok("gpu (ray)", found)]
    if workers is None:
        return checks
    try:
        note = admit(workers, status, float(spec_bits.get("pendingTimeoutS", 600)))
        checks.append(warn("resources", note, "") if note else ok("resources", "the spec's workers fit"))
    except InfeasibleResourcesError as err:
        checks.append(fail("resources", err.message, err.hint))
    return checks + storage_checks(str(spec_bits["storage"]), bool(spec_bits.get("shared")), status)


def _cluster_found(address: str, status: dict[str, Any]) -> Check:
    nodes = ", ".join(f"{n.get('address')} ({n.get('cpu'):g} CPU, {n.get('gpu'):g} GPU)" for n in status["nodes"])
    return ok(
        "cluster",
        f"{address} reachable: {status['numNodes']} node(s), {status['totalCpu']:g} CPU, "
        f"{status['totalGpu']:g} GPU: {nodes}",
    )
