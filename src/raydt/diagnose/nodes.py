"""What each node of a cluster has, asked by a tiny task pinned to it (NodeAffinitySchedulingStrategy): Python,
package versions, the version of each module a spec imports as that node imports it, whether it sees a marker
file, and whether pyarrow resolves the storage URI there (Ray Train resolves storage with
``pyarrow.fs.FileSystem.from_uri`` on every node). Ray requires the same versions everywhere."""

from __future__ import annotations

from typing import Any

from raydt.diagnose.checks import Check, fail, ok, warn
from raydt.diagnose.host import PACKAGES

NODE_TIMEOUT_S = 60.0
URI_FIX = (
    "Use a URI whose filesystem pyarrow has on every node (s3://, gs://, abfs://, hdfs:// with a JVM and libhdfs, "
    "file:// for a folder every node mounts), install pyarrow (the same version) on every node, and check the "
    "node reaches the storage service (credentials, network)."
)


def resolve_uri(uri: str) -> dict[str, Any]:
    """Resolve ``uri`` as Ray Train does and look up its path: {"ok", "filesystem", "type"} or {"ok", "error"}."""
    try:
        import pyarrow.fs

        fs, path = pyarrow.fs.FileSystem.from_uri(uri)
        info = fs.get_file_info(path)
    except BaseException as exc:  # noqa: BLE001 - ImportError, ArrowInvalid, OSError: each is the finding
        text = " ".join(f"{type(exc).__name__}: {exc}".split())
        return {"ok": False, "error": text[:300]}
    return {"ok": True, "filesystem": type(fs).__name__, "type": info.type.name}


def node_report(
    marker: str | None, packages: tuple[str, ...], modules: tuple[str, ...] = (), uri: str | None = None
) -> dict[str, Any]:
    """What one node has (runs on that node): versions from metadata; ``modules`` imported (their
    ``__version__``, None when they do not import); whether it sees ``marker``; ``uri`` resolved."""
    import importlib
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
    imported: dict[str, str | None] = {}
    for name in modules:
        try:
            imported[name] = str(getattr(importlib.import_module(name), "__version__", ""))
        except BaseException:  # noqa: BLE001 - a module that does not import is reported as missing
            imported[name] = None
    row: dict[str, Any] = {"host": socket.gethostname(), "python": platform.python_version(), "versions": versions}
    row["modules"] = imported
    if marker is not None:
        row["seesMarker"] = os.path.exists(marker)
        row["canWrite"] = os.access(os.path.dirname(marker), os.W_OK)
    if uri is not None:
        row["storage"] = resolve_uri(uri)
    return row


def per_node(
    marker: str | None, modules: tuple[str, ...] = (), uri: str | None = None, timeout: float = NODE_TIMEOUT_S
) -> dict[str, dict[str, Any]]:
    """``node_report`` on every live node: node id -> its row (with the node's ``address``) or {"error": ...}."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    task = ray.remote(num_cpus=0, max_retries=0)(node_report)
    refs, addresses = {}, {}
    for node in ray.nodes():
        if node.get("Alive"):
            strategy = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            refs[node["NodeID"]] = task.options(scheduling_strategy=strategy).remote(marker, PACKAGES, modules, uri)
            addresses[node["NodeID"]] = str(node.get("NodeManagerAddress", "?"))
    out: dict[str, dict[str, Any]] = {}
    for node_id, ref in refs.items():
        try:
            out[node_id] = ray.get(ref, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - a node that cannot answer is itself a finding
            out[node_id] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
        out[node_id]["address"] = addresses[node_id]
    return out


def who(node_id: str, row: dict[str, Any]) -> str:
    """A node as a finding names it: ``node 1a2b3c4d (127.0.0.3)``."""
    return f"node {node_id[:8]} ({row['address']})" if row.get("address") else f"node {node_id[:8]}"


def _value(row: dict[str, Any], key: str) -> str:
    if key == "python":
        return str(row["python"])
    if key.endswith(" (imported)"):
        value = row.get("modules", {}).get(key.split()[0])
        return "not importable" if value is None else str(value)
    return str(row["versions"].get(key))


def versions_check(rows: dict[str, dict[str, Any]], driver: dict[str, Any]) -> Check:
    """Python, every package's version (metadata) and each of the spec's modules as imported must be the same on
    each node and the driver (Ray requires it); a difference names the nodes and both versions."""
    differ: list[str] = []
    keys = ["python", *PACKAGES, *(f"{m} (imported)" for m in driver.get("modules", {}))]
    answered = [("driver", driver), *[(who(n, r), r) for n, r in rows.items() if "error" not in r]]
    for key in keys:
        seen: dict[str, list[str]] = {}
        for name, row in answered:
            seen.setdefault(_value(row, key), []).append(name)
        if len(seen) > 1:
            differ.append(f"{key}: " + "; ".join(f"{v} on {', '.join(w)}" for v, w in sorted(seen.items())))
    failed = [f"{who(n, r)}: {r['error']}" for n, r in rows.items() if "error" in r]
    found = f"{len(rows)} node(s): python {driver['python']}, ray {driver['versions'].get('ray')}"
    found += "".join(f", {m} {v}" for m, v in driver.get("modules", {}).items())
    if differ:
        return fail(
            "versions",
            "differ across nodes: " + " | ".join(differ),
            "Install the same Python and package versions on every node and the driver (one image, or "
            "one pinned requirements file; check PYTHONPATH and runtime_env too); Ray refuses or misbehaves "
            "otherwise.",
        )
    if failed:
        return warn("versions", f"{found}; could not ask " + "; ".join(failed), "Check those nodes' raylet logs.")
    return ok("versions", found + " on every node")


def uri_storage_check(storage: str, rows: dict[str, dict[str, Any]], driver: dict[str, Any]) -> Check:
    """A storage URI must resolve (pyarrow has its filesystem, the service answers) on the driver and every node."""
    bad = [(n, r) for n, r in rows.items() if not r.get("storage", {}).get("ok")]
    named = [f"{who(n, r)}: {r.get('storage', {}).get('error') or r.get('error')}" for n, r in bad]
    if not driver["storage"]["ok"]:
        named.insert(0, f"the driver: {driver['storage']['error']}")
    if named:
        return fail("storage (nodes)", f"{storage} does not resolve on " + "; ".join(named), URI_FIX)
    kinds = sorted({str(r["storage"]["filesystem"]) for r in rows.values()} | {str(driver["storage"]["filesystem"])})
    found = f"{storage} resolves on the driver and every node ({len(rows)}): {', '.join(kinds)}"
    return ok("storage (nodes)", found + f", path {driver['storage']['type'].lower()}")
