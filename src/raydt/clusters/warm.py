"""Warm runs on a lasting cluster: the runner ``raydt cluster up`` starts beside it, and the hand-over
``raydt run`` / ``resume`` / ``predict`` make to it.

Why: every ``raydt run`` is a new Python process that imports raydt, Ray, Ray Train / Tune and torch (seconds)
before it connects, and spends ~0.8 s tearing the interpreter down after its result. The runner imports all of
that once, never connects to Ray itself, and forks one child per run: the child takes the client's standard
streams (passed over a Unix socket, ``SCM_RIGHTS``), working folder, environment and arguments, runs the very
command the client would have run (``raydt.cli.main``), and leaves with ``os._exit``. A fork is a fresh copy of
a runner that never ran anything: no run's user code, module globals, environment or GPU reaches the next one, and
user code is never imported by the runner, so an edited trainer file is read anew by every run. A runner whose
raydt source changed since it started re-executes itself (and the client runs cold meanwhile).

Standard library only on the client side (``hand_over`` costs milliseconds); the runner imports the rest.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

#: the commands a warm runner takes (their own process otherwise: ``--detach`` serves in the background)
COMMANDS = ("run", "resume", "predict")
#: ``RAYDT_WARM=0``: never hand a run to the warm runner
ENV = "RAYDT_WARM"
#: what the runner imports before it takes runs (each optional: a missing framework is skipped)
PRELOAD = (
    "raydt.cli",
    "raydt.api",
    "raydt.runners.train",
    "raydt.runners.solo",
    "raydt.runners.tune",
    "raydt.runners.serve",
    "raydt.search.optuna",  # the default searcher (Optuna, Ray's OptunaSearch)
    "ray.train.torch",
    "ray.tune",
    "ray.air.integrations.mlflow",  # Tune's usage tags import it (and MLflow, ~0.8 s) in every search
    "ray.autoscaler.v2.utils",  # a run's cluster status
    "ray.dag",  # ray.shutdown's
    "ray.data",
    "torch",
)


def socket_path(folder: str | Path) -> str:
    """The runner's socket: in the cluster's folder when the path fits a Unix socket's 107 bytes, else in /tmp."""
    path = os.path.join(str(folder), "runner.sock")
    if len(path.encode()) < 100:
        return path
    import hashlib

    return f"/tmp/raydt-runner-{hashlib.sha256(path.encode()).hexdigest()[:16]}.sock"


# -- the client: raydt run / resume / predict ------------------------------------------------------------------


def hand_over(argv: list[str]) -> int | None:
    """Run ``argv`` in the running lasting cluster's warm runner, with this process's streams; its exit code, or
    None when there is no runner to take it (the caller runs it itself)."""
    if not argv or argv[0] not in COMMANDS or "--detach" in argv or os.environ.get(ENV, "1") == "0":
        return None
    from raydt.clusters import state

    rec = state.running()
    path = rec.get("runnerSocket") if rec else None
    if not path or not os.path.exists(path):
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(60)  # the runner answers as soon as it forked: silence means it is wedged before that
        conn.connect(path)
        hello = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "python": sys.executable, "code": code_id()}
        socket.send_fds(conn, [json.dumps(hello).encode() + b"\n"], [0, 1, 2])
        reader = conn.makefile("r", encoding="utf-8")
        first = json.loads(reader.readline() or "{}")
    except (OSError, ValueError):
        conn.close()
        return None
    if "pid" not in first:  # refused (another Python, changed code): run it here
        conn.close()
        return None
    conn.settimeout(None)
    return _wait(conn, reader)


def _wait(conn: socket.socket, reader: Any) -> int:
    """Forward Ctrl-C and SIGTERM to the run, then return its exit code."""

    def forward(signum: int, _frame: Any) -> None:
        try:
            conn.sendall(json.dumps({"signal": signum}).encode() + b"\n")
        except OSError:
            pass

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            line = reader.readline()
            if not line:
                return 1  # the runner went away mid-run (cluster down)
            msg = json.loads(line)
            if "exit" in msg:
                return int(msg["exit"])
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        conn.close()


def code_id() -> str:
    """raydt's version and where it is installed: a client and a runner of different raydt never mix."""
    from raydt import __version__

    return f"{__version__} {Path(__file__).resolve().parents[1]}"


def start(cluster_id: str, folder: Path) -> tuple[int, str]:
    """Start the cluster's runner (tagged as the cluster's: ``down`` stops it by pid); (its pid, its socket)."""
    import subprocess

    from raydt.clusters import procs

    path = socket_path(folder)
    env = {**os.environ, procs.TAG: cluster_id}
    with open(folder / "warm-runner.log", "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "raydt.cli.warm_runner", path],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    return proc.pid, path
