"""``raydt cluster up --idle-stop 30m``: a lasting cluster that nothing has used for that long stops itself (an idle
cluster on a paid machine costs money), and says so in ``raydt cluster status``'s history.

A watcher process (``python -m raydt.clusters.watcher ID SECONDS``, started by ``up`` in its own session, tagged as
the cluster's so ``down`` stops it) looks every few seconds for use: a Ray worker process of the cluster that
runs something (its title is ``ray::<task or actor>``, not ``ray::IDLE``: a run's trials and workers, Ray Data's
tasks, Serve's controller and replicas, a Ray Job's supervisor), a driver connected to it (Ray's core-driver log
of a live pid in the head's session logs: a ``raydt run`` from its first connection on), or a raydt run waiting
for its turn (``clusters.turns``). After ``SECONDS`` without any it runs ``raydt cluster down``'s own code. Imports
no Ray.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from raydt import state as local_state
from raydt.clusters import procs, state

#: the titles of Ray's own processes that run nothing of a user: idle workers (``ray::IDLE``, its spill and restore
#: variants) and the node's agents
SYSTEM = ("ray::IDLE", "ray::DashboardAgent", "ray::RuntimeEnvAgent")


def _title(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def busy(rec: dict[str, Any]) -> str | None:
    """What uses the cluster now, in words (None: nothing)."""
    me = os.getpid()
    for pid in procs.tagged(str(rec.get("id", ""))):
        title = _title(pid)
        if title.startswith("ray::") and not title.startswith(SYSTEM):
            return f"{title.split()[0]} (pid {pid})"
    tmp = Path(str(rec.get("rayTempDir", "")))
    for log in [
        *tmp.glob("session_latest/logs/python-core-driver-*_*.log"),
        *tmp.glob("w*/session_latest/logs/python-core-driver-*_*.log"),
    ]:
        pid = int(log.stem.rsplit("_", 1)[1]) if log.stem.rsplit("_", 1)[1].isdigit() else 0
        if pid and pid != me and local_state.alive(pid):
            return f"a driver connected to it (pid {pid})"
    from raydt.clusters import turns

    if turns.tickets(turns.folder(str(rec.get("address", "")))):
        return "a raydt run holding or waiting for its turn"
    return None


def wait_idle(
    busy: Callable[[], str | None],
    after_s: float,
    stop: Callable[[float], bool],
    *,
    gone: Callable[[], bool] = lambda: False,
    poll_s: float | None = None,
) -> bool:
    """Call ``stop(idle seconds)`` once ``busy()`` (what uses the cluster, None: nothing) has said None for
    ``after_s`` seconds in a row; True when ``stop`` did (returned True), False when ``gone()`` said the cluster went
    first. A ``stop`` that returns False (it could not) is called again at the next poll while still idle. Shared by
    the lasting local cluster's watcher and the watcher of a KubeRay RayCluster (``raydt.k8s.watcher``)."""
    poll = poll_s if poll_s is not None else max(0.5, min(30.0, after_s / 6))
    last_use = time.monotonic()
    while True:
        if gone():
            return False  # stopped (or replaced) by someone else
        if busy():
            last_use = time.monotonic()
        elif time.monotonic() - last_use >= after_s and stop(round(time.monotonic() - last_use, 1)):
            return True
        time.sleep(poll)


def watch(cluster_id: str, after_s: float, stop: Callable[[str], Any]) -> int:
    """Stop the cluster ``cluster_id`` with ``stop(reason)`` (``start.down``) once nothing has used it for
    ``after_s`` seconds; return when it is gone."""

    def gone() -> bool:
        rec = state.read()
        return rec is None or rec.get("id") != cluster_id or not state.head_alive(rec)

    def down(idle: float) -> bool:
        stop(f"idle for {idle:g}s (--idle-stop {after_s:g}s): nothing used it")
        return True

    wait_idle(lambda: busy(state.read() or {}), after_s, down, gone=gone)
    return 0


def start_watcher(cluster_id: str, after_s: float, log: Path) -> int:
    """The watcher's pid: a process of its own session, tagged as the cluster's (``down`` stops it by pid)."""
    env = {**os.environ, procs.TAG: cluster_id}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "raydt.clusters.watcher", cluster_id, f"{after_s:g}"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    return proc.pid
