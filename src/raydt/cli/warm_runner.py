"""``python -m raydt.cli.warm_runner SOCKET``: the warm runner ``raydt cluster up`` starts beside the cluster
(``clusters.warm`` says why). It imports raydt, Ray, Ray Train / Tune and torch once, never connects to Ray,
and forks one child per run handed to it; the child runs ``raydt.cli.main`` with the client's streams, folder,
environment and arguments. Nothing imports this module: it is a program."""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from raydt.clusters.warm import ENV, PRELOAD, code_id


def serve(sock_path: str) -> int:
    """``python -m raydt.cli.warm_runner SOCKET``: preload, then fork a child per run until stopped."""
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
    # What was imported stays for good: out of the garbage collector's sight, so that a child's collections neither
    # walk it nor write to its pages (a write copies a page the fork shares)
    gc.collect()
    gc.freeze()
    open_conns: set[socket.socket] = set()  # the runs in progress: a child closes its copies of them
    while True:
        conn, _ = server.accept()
        conn.settimeout(5)  # a client that connects and says nothing must not hold the runner up
        try:
            msg, fds = _receive(conn)
        except OSError:
            conn.close()
            continue
        conn.settimeout(None)
        refusal = _refusal(msg, started)
        if refusal:
            _send(conn, {"refused": refusal})
            conn.close()
            for fd in fds:
                os.close(fd)
            if "changed" in refusal and not open_conns:  # start again with the new code, once no run needs this one
                server.close()  # (an exec would close the runs' connections: their clients would lose the exit code)
                os.execv(sys.executable, [sys.executable, "-m", "raydt.cli.warm_runner", sock_path])
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
    ended = threading.Event()  # the child is reaped: its pid may belong to another process from now on

    def send_signal(signum: int) -> None:
        if not ended.is_set():
            try:
                os.kill(pid, signum)
            except OSError:
                pass

    def relay() -> None:
        reader = conn.makefile("r", encoding="utf-8")
        for line in reader:
            try:
                send_signal(int(json.loads(line).get("signal", 0)) or signal.SIGTERM)
            except ValueError:
                return
        send_signal(signal.SIGTERM)  # the client closed the connection before the run ended

    threading.Thread(target=relay, daemon=True).start()
    _, status = os.waitpid(pid, 0)
    ended.set()
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
        _reseed()
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


def _reseed() -> None:
    """A fork copies the runner's random state: every run would draw the same numbers (temp names, samples)."""
    import random

    random.seed()
    for name, call in (("numpy", "random.seed"), ("torch", "seed")):
        module = sys.modules.get(name)
        if module is not None:
            obj: Any = module
            for part in call.split("."):
                obj = getattr(obj, part)
            obj()


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
