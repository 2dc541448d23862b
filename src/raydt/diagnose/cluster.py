"""Checks that need the running cluster (``--address``, the spec's ``config.address``, or the cluster ``raydt
cluster up`` started): nodes and resources, versions on every node (a tiny task pinned to each), token
authentication and the dashboard's binding, and whether every node reaches the storage folder."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from raydt.diagnose.checks import Check, fail, ok, warn
from raydt.diagnose.host import PACKAGES, dashboard_check
from raydt.diagnose.nodes import node_report, per_node, resolve_uri, uri_storage_check, versions_check, who
from raydt.plan import WorkerPlan

#: a storage service that does not answer (an s3:// bucket without network fails in ~6 s)
URI_TIMEOUT_S = 30.0


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
    (preflight's rule); a URI must resolve on every node (pyarrow's filesystem for it, the service reached);
    a local path with sharedStorage (or a file:// URI) must show a marker written here on every node."""
    from raydt.errors import SpecError
    from raydt.preflight import check_storage

    try:
        check_storage(storage, shared, status)
    except SpecError as err:
        issue = err.issues[0]
        return [fail("storage (nodes)", f"{storage} {issue.rule}", issue.hint)]
    if status["numNodes"] <= 1:
        return [ok("storage (nodes)", f"{status['numNodes']} node(s); {storage}")]
    checks: list[Check] = []
    if "://" in storage:
        driver = {"storage": resolve_uri(storage)}
        checks.append(uri_storage_check(storage, per_node(None, uri=storage, timeout=URI_TIMEOUT_S), driver))
        if not storage.startswith("file://") or checks[-1].status == "fail":
            return checks
        return [*checks, _marker_check(storage[len("file://") :], "storage (shared folder)")]
    return [_marker_check(storage, "storage (nodes)")]


def _marker_check(storage: str, name: str) -> Check:
    """Write a marker in ``storage`` here and ask every node whether it sees it (a shared folder shows it)."""
    marker = Path(storage) / f".raydt-doctor-{secrets.token_hex(4)}"
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("raydt doctor\n")
    except OSError as exc:
        return fail(name, f"cannot write {marker}: {exc}", "Fix runConfig.storagePath.")
    try:
        rows = per_node(str(marker))
    finally:
        marker.unlink(missing_ok=True)
    blind = [who(n, r) for n, r in rows.items() if not r.get("seesMarker") or not r.get("canWrite")]
    if blind:
        return fail(
            name,
            f"{', '.join(blind)} do(es) not see {storage} (a file written here was missing there, or the "
            "folder is read-only)",
            "Mount the same shared filesystem at that path on every node, or use a URI (s3://...).",
        )
    return ok(name, f"every node ({len(rows)}) sees and can write {storage}")


def cluster_checks(address: str, workers: WorkerPlan | None, spec_bits: dict[str, Any]) -> list[Check]:
    """Connect to ``address`` and check it; ``spec_bits``: storage, shared, pendingTimeoutS, useGpu, modules (the
    spec's modules -> the version the driver imports, None if it cannot), or empty."""
    import ray

    from raydt import ray_session
    from raydt.errors import RaydtError

    try:
        ray_session.check_reachable(address)
        with ray_session.connect(address, dashboard=False):
            status = ray_session.cluster_status()
            url = ray.init(ignore_reinit_error=True).address_info.get("webui_url")  # Ray's documented way
            driver = node_report(None, PACKAGES)
            driver["modules"] = dict(spec_bits.get("modules") or {})  # the spec's, as the import probe found them
            rows = per_node(None, tuple(driver["modules"]))
            checks = [_cluster_found(address, status), versions_check(rows, driver)]
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
