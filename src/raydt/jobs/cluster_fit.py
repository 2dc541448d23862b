"""Before ``raydt submit`` uploads anything: the spec against the cluster it goes to, by preflight's own rules (the
ones the run applies at its start there): a local ``storagePath`` on several nodes that do not share it, workers
the nodes can never hold. The cluster is read through its dashboard, which the submission talks to anyway: the
State API's node list (``/api/v0/nodes``) and the autoscaler's report (``/api/cluster_status``). What the
dashboard cannot say is left to the run. Imports no Ray."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from raydt.jobs.connect import PROBE_TIMEOUT_S, Target

if TYPE_CHECKING:  # the plan (frameworks, search, tracking settings) is not imported where jobs are packaged
    from raydt.plan import WorkerPlan

#: node types Ray's monitor invents for a cluster it only observes: "node_" + the node id (the dashboard's reply
#: turns its keys into camelCase: "node" + the id with its letters capitalised)
_READONLY_TYPE = re.compile(r"^node_?[0-9a-fA-F]{40,}$")


@dataclass(frozen=True)
class Demand:
    """What the submitted run will ask of the cluster: its workers (one run or one trial), where it stores."""

    workers: WorkerPlan
    storage: str  # runConfig.storagePath as the cluster sees it (absolute, or a URI)
    shared: bool  # runConfig.sharedStorage


def check(target: Target, demand: Demand | None) -> None:
    """Raise the ``SpecError`` / ``InfeasibleResourcesError`` the run would raise on the cluster at its start."""
    from raydt import preflight

    if demand is None:
        return
    status = cluster_status(target)
    if status is None:
        return
    scaling = status["autoscaler"]
    preflight.check_storage(demand.storage, demand.shared, status)  # one node that cannot grow: nothing to check
    if scaling is None and status["nodes"]:  # an autoscaler (or one the dashboard does not show) may add nodes
        w = demand.workers
        preflight.check_workers(dataclasses.replace(w, num_workers=w.min_workers or w.num_workers), status)


def cluster_status(target: Target) -> dict[str, Any] | None:
    """The cluster's alive nodes in ``clusterStatus``'s form, ``autoscaler`` (None: the cluster cannot add
    nodes; ``{"version": "unknown"}`` when no autoscaler report says so) and, for the lasting cluster, its
    ``address``; None when the dashboard does not list the nodes."""
    reply = _get(target, "/api/v0/nodes?limit=10000&detail=false")
    rows = ((reply or {}).get("data") or {}).get("result") or {}
    rows = rows.get("result") if isinstance(rows, dict) else None
    if not isinstance(rows, list):
        return None
    nodes = [_node(row) for row in rows if isinstance(row, dict) and row.get("state") == "ALIVE"]
    report = ((_get(target, "/api/cluster_status") or {}).get("data") or {}).get("clusterStatus")
    status: dict[str, Any] = {"numNodes": len(nodes), "nodes": nodes, "autoscaler": _autoscaler(report)}
    if target.lasting is not None:
        status["address"] = target.lasting.get("address")  # preflight knows the nodes of `raydt cluster up`
    return status


def _node(row: dict[str, Any]) -> dict[str, Any]:
    from raydt.ray_session import custom_resources

    res = {str(k): float(v) for k, v in (row.get("resources_total") or {}).items() if isinstance(v, int | float)}
    return {
        "address": row.get("node_ip"),
        "isHead": bool(row.get("is_head_node")),
        "cpu": res.get("CPU", 0.0),
        "gpu": res.get("GPU", 0.0),
        "memoryBytes": int(res.get("memory", 0)),
        "customResources": custom_resources(res),
    }


def _autoscaler(report: Any) -> dict[str, Any] | None:
    """The v1 monitor's report (its keys camelCased by the dashboard): managed node types mean an autoscaler;
    only the monitor's own ``node_<id>`` types mean none; no report is unknown (a v2 autoscaler writes none)."""
    inner = report.get("autoscalerReport") if isinstance(report, dict) else None
    if not isinstance(inner, dict):
        return {"version": "unknown", "nodeTypes": []}
    types = {str(t) for t in (inner.get("nodeTypeMapping") or {}).values()}
    types |= {str(t) for t in inner.get("activeNodes") or {}}
    types |= {str(row[1]) for row in inner.get("pendingNodes") or [] if isinstance(row, list) and len(row) > 1}
    types |= {str(t) for t in inner.get("pendingLaunches") or {}}
    managed = sorted(t for t in types if not _READONLY_TYPE.match(t))
    return {"version": "v1", "nodeTypes": managed} if managed else None


def _get(target: Target, path: str) -> dict[str, Any] | None:
    """One GET to the dashboard; None for any failure (the run on the cluster checks what this cannot)."""
    import requests

    try:
        reply = requests.get(target.address + path, headers=target.headers, timeout=PROBE_TIMEOUT_S)
        doc = reply.json() if reply.status_code == 200 else None
    except (requests.exceptions.RequestException, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
