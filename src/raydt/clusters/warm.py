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
import threading
import time
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
    "ray.train.torch",
    "ray.tune",
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


# -- the runner ------------------------------------------------------------------------------------------------


def serve(sock_path: str) -> int:
    """``python -m raydt.clusters.runner SOCKET``: preload, then fork a child per run until stopped."""
    started = time.time()
    for module in PRELOAD:
        try:
            __import__(module)
        except Exception as exc:  # noqa: BLE001 - a framework not installed: its runs import it themselves
            print(f"raydt warm runner: not preloaded: {module} ({type(exc).__name__})", flush=True)
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    os.chmod(sock_path, 0o600)  # this user's runs only
    server.listen(16)
    print(f"raydt warm runner: ready in {time.time() - started:.1f}s on {sock_path}", flush=True)
    open_conns: set[socket.socket] = set()  # the runs in progress: a child closes its copies of them
    while True:
        conn, _ = server.accept()
        msg, fds = _receive(conn)
        refusal = _refusal(msg, started)
        if refusal:
            _send(conn, {"refused": refusal})
            conn.close()
            for fd in fds:
                os.close(fd)
            if "changed" in refusal:  # start again with the new code
                server.close()
                os.execv(sys.executable, [sys.executable, "-m", "raydt.clusters.runner", sock_path])
            continue
        pid = os.fork()
        if pid == 0:
            for other in (server, conn, *open_conns):
                other.close()
            _child(msg, fds)  # never returns
        for fd in fds:
            os.close(fd)
        _send(conn, {"pid": pid})
        open_conns.add(conn)
        threading.Thread(target=_watch, args=(conn, pid, open_conns), daemon=True).start()


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, 3)
    buf = data
    while not buf.endswith(b"\n"):
        more = conn.recv(1 << 20)
        if not more:
            break
        buf += more
    try:
        return json.loads(buf), list(fds)
    except ValueError:
        return {}, list(fds)


def _refusal(msg: dict[str, Any], started: float) -> str | None:
    if len(msg.get("argv") or []) == 0 or len(msg.get("env") or {}) == 0:
        return "not a run"
    if msg.get("python") != sys.executable or msg.get("code") != code_id():
        return "another Python or raydt than the runner's"
    if _changed_since(started):
        return "raydt's code changed since the runner started"
    return None


def _changed_since(started: float) -> bool:
    """A raydt source file newer than the runner (an upgrade, or an edit of an editable install)."""
    root = Path(__file__).resolve().parents[1]
    return any(p.stat().st_mtime > started for p in root.rglob("*.py"))


def _send(conn: socket.socket, msg: dict[str, Any]) -> None:
    try:
        conn.sendall(json.dumps(msg).encode() + b"\n")
    except OSError:
        pass


def _watch(conn: socket.socket, pid: int, open_conns: set[socket.socket]) -> None:
    """Relay the client's signals to the run; a client that goes away stops it (SIGTERM); send the exit code."""

    def relay() -> None:
        reader = conn.makefile("r", encoding="utf-8")
        for line in reader:
            try:
                os.kill(pid, int(json.loads(line).get("signal", 0)) or signal.SIGTERM)
            except (OSError, ValueError):
                return
        try:
            os.kill(pid, signal.SIGTERM)  # the client closed the connection before the run ended
        except OSError:
            pass

    threading.Thread(target=relay, daemon=True).start()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    _send(conn, {"exit": code if code >= 0 else 128 - code})
    open_conns.discard(conn)
    conn.close()


def _child(msg: dict[str, Any], fds: list[int]) -> None:
    """The forked run: the client's streams, folder, environment and command; leaves with its exit code."""
    code = 1
    try:
        for target, fd in zip((0, 1, 2), fds, strict=False):
            os.dup2(fd, target)
            os.close(fd)
        os.setsid()  # the run's own process group: the runner's signals are not its
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(msg["cwd"])
        os.environ.clear()
        os.environ.update(msg["env"])
        os.environ[ENV] = "0"  # a nested raydt command runs itself
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]
        sys.path[:0] = extra
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's own stream
        sys.stdout = open(1, "w", encoding="utf-8", buffering=1 if os.isatty(1) else -1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
        sys.argv = ["raydt", *msg["argv"]]
        if "--quiet" not in msg["argv"] and "-q" not in msg["argv"]:
            print(f"[raydt warm] forked from the cluster's warm runner (pid {os.getppid()})", file=sys.stderr)
        from raydt.cli import main

        code = main(list(msg["argv"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - the run's own handlers print its errors; this is a last resort
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - the client went away
                pass
        os._exit(code)


def start(cluster_id: str, folder: Path) -> tuple[int, str]:
    """Start the cluster's runner (tagged as the cluster's: ``down`` stops it by pid); (its pid, its socket)."""
    import subprocess

    from raydt.clusters import procs

    path = socket_path(folder)
    env = {**os.environ, procs.TAG: cluster_id}
    with open(folder / "warm-runner.log", "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "raydt.clusters.runner", path],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    return proc.pid, path
