"""Local state, one home for it: the state folder (``RAYDT_STATE_DIR``, default ``~/.raydt``: the lasting
cluster's record, serve records, the MCP server's runs), files written so that a reader never sees half of one,
and processes told apart and stopped by pid (never by name). Standard library only: imports no Ray.

One liveness rule (``alive``): a pid lives while it exists and is no zombie. A process that has exited but
whose parent has not reaped it yet still holds its pid, yet runs nothing: it counts as dead.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

#: the environment variable that moves the state folder (tests, several users of one account)
ENV = "RAYDT_STATE_DIR"


def state_dir(*parts: str, create: bool = False) -> Path:
    """``$RAYDT_STATE_DIR`` (when set and not empty), else ``~/.raydt``; ``parts``: a folder under it, made
    (with its parents) when ``create``."""
    base = os.environ.get(ENV) or os.path.join(os.path.expanduser("~"), ".raydt")
    path = Path(base).joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` so that a reader sees the old file or the new one, never half of one:
    a scratch file beside it (named by this process and thread: writers never share one), then a rename. On
    failure the scratch file is removed and ``path`` is left as it was. The folder must exist."""
    target = Path(path)
    scratch = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        scratch.write_text(text, encoding="utf-8")
        os.replace(scratch, target)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    return target


def write_json_atomic(
    path: str | Path, doc: Any, *, indent: int | None = 2, default: Callable[[Any], Any] | None = None
) -> Path:
    """``doc`` as JSON (``indent``; ``default``: as ``json.dumps`` takes it), written as ``write_text_atomic``
    does. A document that cannot be serialised raises before anything is written."""
    return write_text_atomic(path, json.dumps(doc, indent=indent, default=default))


def read_json(path: str | Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when there is none, it cannot be read or parsed, or it is no object."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _proc_state(pid: int) -> str | None:
    """The state letter of ``/proc/<pid>/stat`` (R, S, Z, ...); None where it cannot be read (no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    """``pid`` names a process that exists (another user's counts) and is no zombie (exited, not yet reaped).
    Where ``/proc`` cannot tell its state, existence decides. A pid <= 0 never lives (it names groups)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists: someone else's
    return _proc_state(pid) not in ("Z", "X")


def send(pid: int, sig: int, *, group: bool = False) -> bool:
    """Send ``sig`` to ``pid`` (``group``: to the process group it leads, or to it alone where it leads none);
    False when it could not be sent (the process is gone, or not ours). A pid <= 0 is never signalled."""
    if pid <= 0:
        return False
    if group:
        try:
            os.killpg(pid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def wait_gone(
    pids: Iterable[int], timeout_s: float, *, lives: Callable[[int], bool] = alive, every_s: float = 0.1
) -> list[int]:
    """Wait up to ``timeout_s`` for every pid to end (``lives``: whether one still runs); the pids still living."""
    deadline = time.monotonic() + timeout_s
    left = [pid for pid in pids if lives(pid)]
    while left and time.monotonic() < deadline:
        time.sleep(min(every_s, max(0.0, deadline - time.monotonic())))
        left = [pid for pid in left if lives(pid)]
    return left


def stop(
    pids: Iterable[int],
    grace_s: float = 10.0,
    *,
    first: int = signal.SIGTERM,
    kill_wait_s: float = 5.0,
    group: bool = False,
    lives: Callable[[int], bool] = alive,
) -> list[int]:
    """Stop processes by pid: ``first`` (SIGTERM) to each pid that ``lives``, up to ``grace_s`` for them to end,
    then SIGKILL to those left (``group``: to the process group each leads) and up to ``kill_wait_s`` more.
    Pids that do not live are never signalled (``lives`` may also tell which are ours). Returns the pids still
    living (empty when all ended)."""
    left = [pid for pid in pids if pid > 0 and lives(pid)]
    for pid in left:
        send(pid, first)
    left = wait_gone(left, grace_s, lives=lives)
    for pid in left:
        send(pid, signal.SIGKILL, group=group)
    return wait_gone(left, kill_wait_s, lives=lives)
