"""How a raydt driver uses the lasting cluster: its address when it runs (``raydt run`` with no address),
and the token it must present (set in the environment around ``ray.init``). Imports no Ray."""

from __future__ import annotations

from typing import Any

from raydt.clusters import state
from raydt.errors import RayConnectionError

#: clusterStatus.source values
SOURCE_UP = "raydt cluster up"


def running_address() -> str | None:
    """The address of the cluster ``raydt cluster up`` started, when its head lives."""
    rec = state.running()
    return str(rec["address"]) if rec else None


def refuse_dead() -> None:
    """Raise when the cluster ``raydt cluster up`` recorded has died: a run (or ``cluster status``) with no
    address would otherwise start an embedded Ray and run somewhere else than the cluster the user set up."""
    rec = state.dead()
    if rec is None:
        return
    err = RayConnectionError(
        f"the cluster `raydt cluster up` started at {rec.get('address')} is dead: its head (GCS pid "
        f"{rec.get('headPid')}) no longer runs (record {state.record_path()})",
        hint="Start a new one with `raydt cluster up` (it clears the dead record and stops what is left of it), "
        "or remove it with `raydt cluster down`; to run on a fresh embedded Ray instead, set config.address: local.",
    )
    err.details = {"lastingCluster": {k: rec.get(k) for k in ("id", "address", "headPid", "dashboardUrl")}}
    raise err


def owner(address: str | None) -> dict[str, Any] | None:
    """The record of the running lasting cluster when ``address`` is its address, else None."""
    if not address:
        return None
    rec = state.running()
    return rec if rec is not None and rec.get("address") == address else None


def node_ips(rec: dict[str, Any]) -> set[str]:
    """The addresses ``raydt cluster up`` gave the raylets it started (the head's, then each worker raylet's)."""
    from raydt.clusters.start import node_ip

    host = str(rec.get("host") or "127.0.0.1")
    return {node_ip(host, index) for index in range(int(rec.get("workers") or 0) + 1)}


def shares_disk(status: dict[str, Any]) -> bool:
    """Every node of the connected cluster (``status``: clusterStatus, its ``address`` the connection's) is a
    raylet that ``raydt cluster up`` started on this machine: they all see this machine's file system. A node
    that joined from elsewhere, or an autoscaler that may add one, does not."""
    rec = owner(status.get("address"))
    if rec is None or status.get("autoscaler") or not status.get("nodes"):
        return False
    ours = node_ips(rec)
    return all(node.get("address") in ours for node in status["nodes"])
