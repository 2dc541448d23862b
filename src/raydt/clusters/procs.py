"""The processes of one lasting cluster, found and stopped by pid. Every process ``ray start`` starts
(it daemonises them) inherits the environment variable ``RAYDT_CLUSTER_ID=<id>``; a pid counts as the
cluster's only while its ``/proc/<pid>/environ`` carries that tag, so a reused pid is never killed."""

from __future__ import annotations

import os

from raydt import state

TAG = "RAYDT_CLUSTER_ID"


def _environ(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def belongs(pid: int, cluster_id: str) -> bool:
    """``pid`` lives (``state.alive``: not a zombie) and carries the tag of ``cluster_id``."""
    if pid <= 0 or not cluster_id:
        return False
    marker = f"{TAG}={cluster_id}".encode()
    # Ray's agents (DashboardAgent, RuntimeEnvAgent) start without the tag but keep the cluster's own
    # temp dir, whose name carries the id (start.up: /tmp/raydt-<id>-...)
    tmp = f"RAY_TMPDIR=/tmp/raydt-{cluster_id}-".encode()
    env = _environ(pid).split(b"\0")
    return (marker in env or any(v.startswith(tmp) for v in env)) and state.alive(pid)


def name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return "?"


def tagged(cluster_id: str) -> list[int]:
    """Every live process of this user that carries the cluster's tag, by pid."""
    me = os.getpid()
    return sorted(
        int(entry)
        for entry in os.listdir("/proc")
        if entry.isdigit() and int(entry) != me and belongs(int(entry), cluster_id)
    )


def stop(pids: list[int], cluster_id: str, timeout: float = 10.0) -> list[int]:
    """SIGTERM the cluster's processes among ``pids``, SIGKILL those left after ``timeout``; return the
    pids still alive (empty when all ended). Pids without the tag are left alone."""
    return state.stop(pids, timeout, kill_wait_s=5.0, lives=lambda pid: belongs(pid, cluster_id))
