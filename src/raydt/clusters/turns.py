"""Runs sent to one cluster at once take turns: each is admitted in the order it came, once the runs admitted
before it leave room for what it reserves, instead of all racing for the same CPUs until one times out pending.

A run takes a ticket (a file in the state folder, under the cluster's address) after its preflight and before its
data and workers; it is admitted when no earlier ticket still waits and the runs admitted so far plus this one fit
the cluster's total resources (or when nothing is admitted: a run larger than the cluster, or an autoscaling one,
goes as before). Its ticket goes when the run ends; a ticket whose process died is ignored. This orders the runs
started from this machine (the CLI, the MCP server, its Jobs driver: one state folder); work that does not go
through raydt is Ray's to schedule, as before. Ray-free: the caller reads the cluster's totals.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raydt import state

#: how often a waiting run looks again
POLL_S = 0.5


@dataclass(frozen=True)
class Ticket:
    path: Path
    pid: int
    need: dict[str, float]
    admitted: bool


def folder(address: str) -> Path:
    """The tickets of the cluster at ``address``."""
    digest = hashlib.sha256(address.encode()).hexdigest()[:16]
    return state.state_dir("turns", digest, create=True)


def tickets(where: Path) -> list[Ticket]:
    """The live tickets in arrival order (those of dead processes removed)."""
    out = []
    for path in sorted(where.glob("*.json")):
        data = state.read_json(path) or {}
        pid = int(data.get("pid") or 0)
        if not pid or not state.alive(pid):
            path.unlink(missing_ok=True)
            continue
        out.append(
            Ticket(path, pid, {k: float(v) for k, v in (data.get("need") or {}).items()}, bool(data.get("admitted")))
        )
    return out


def may_start(mine: Path, found: list[Ticket], total: dict[str, float]) -> tuple[bool, list[Ticket]]:
    """Whether the ticket ``mine`` is admitted now, and the runs it waits for (earlier waiting ones first)."""
    me = next(t for t in found if t.path == mine)
    earlier = [t for t in found if t.path < mine and not t.admitted]
    if earlier:
        return False, earlier
    running = [t for t in found if t.admitted and t.path != mine]
    if not running:
        return True, []
    for key, amount in me.need.items():
        held = sum(t.need.get(key, 0.0) for t in running)
        if amount > 0 and held + amount > total.get(key, 0.0) + 1e-9:
            return False, running
    return True, []


@contextmanager
def turn(
    address: str, need: dict[str, float], total: dict[str, float], say: Callable[[str], None]
) -> Iterator[dict[str, Any]]:
    """Wait for this run's turn on the cluster at ``address``, hold it for the block; yields ``{"waitedS": s}``."""
    where = folder(address)
    mine = where / f"{time.time_ns():020d}-{os.getpid()}.json"
    need = {k: v for k, v in need.items() if v > 0}
    state.write_json_atomic(mine, {"pid": os.getpid(), "need": need, "admitted": False})
    started, told = time.monotonic(), ""
    try:
        while True:
            ok, ahead = may_start(mine, tickets(where), total)
            if ok:
                break
            line = (
                f"waiting for {len(ahead)} earlier run(s) on this cluster (pid {', '.join(str(t.pid) for t in ahead)})"
            )
            if line != told:
                say(f"{line} to leave room for {_fmt(need)}")
                told = line
            time.sleep(POLL_S)
        state.write_json_atomic(mine, {"pid": os.getpid(), "need": need, "admitted": True})
        yield {"waitedS": round(time.monotonic() - started, 1)}
    finally:
        mine.unlink(missing_ok=True)


def _fmt(need: dict[str, float]) -> str:
    return "{" + ", ".join(f"{k}: {v:g}" for k, v in sorted(need.items())) + "}"
