"""Runs sent to one cluster at once take turns (clusters.turns): arrival order, room left by the runs admitted,
tickets of dead processes ignored, the ticket gone however the run ends. Real files and real processes, no Ray."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from raydt.clusters import turns

TOTAL = {"CPU": 2.0, "GPU": 0.0}


@pytest.fixture(autouse=True)
def own_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAYDT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(turns, "POLL_S", 0.05)


def ticket(where: Path, n: int, pid: int, cpu: float, admitted: bool) -> Path:
    from raydt import state

    path = where / f"{n:020d}-{pid}.json"
    state.write_json_atomic(path, {"pid": pid, "need": {"CPU": cpu}, "admitted": admitted})
    return path


def test_a_run_waits_for_earlier_waiting_runs_and_for_room_next_to_the_admitted() -> None:
    where = turns.folder("127.0.0.1:6379")
    me = os.getpid()
    running = ticket(where, 1, me, 2.0, True)
    mine = ticket(where, 3, me, 1.0, False)
    ok, ahead = turns.may_start(mine, turns.tickets(where), TOTAL)
    assert not ok and [t.path for t in ahead] == [running]  # 2 of 2 CPUs held: no room for 1 more
    earlier = ticket(where, 2, me, 0.5, False)
    ok, ahead = turns.may_start(mine, turns.tickets(where), TOTAL)
    assert not ok and [t.path for t in ahead] == [earlier]  # first come, first served
    running.unlink()
    assert turns.may_start(earlier, turns.tickets(where), TOTAL)[0]
    big = ticket(where, 4, me, 8.0, False)  # larger than the cluster: alone, it goes (Ray decides, as before)
    for path in (earlier, mine):
        path.unlink()
    assert turns.may_start(big, turns.tickets(where), TOTAL)[0]


def test_a_dead_processs_ticket_is_ignored_and_removed() -> None:
    where = turns.folder("10.0.0.1:6379")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = ticket(where, 1, dead.pid, 2.0, True)
    mine = ticket(where, 2, os.getpid(), 2.0, False)
    assert turns.may_start(mine, turns.tickets(where), TOTAL)[0] and not stale.exists()


def test_the_second_of_two_runs_starts_when_the_first_ends_and_no_ticket_is_left() -> None:
    said: list[str] = []
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with turns.turn("h:1", {"CPU": 2.0}, TOTAL, said.append):
            order.append("first starts")
            first_in.set()
            time.sleep(0.4)
            order.append("first ends")

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with turns.turn("h:1", {"CPU": 1.0}, TOTAL, said.append) as waited:
        order.append("second starts")
    thread.join()
    assert order == ["first starts", "first ends", "second starts"]
    assert waited["waitedS"] >= 0.2 and any("waiting for 1 earlier run(s)" in s and "{CPU: 1}" in s for s in said)
    assert list(turns.folder("h:1").glob("*.json")) == []
    with pytest.raises(KeyboardInterrupt), turns.turn("h:1", {"CPU": 1.0}, TOTAL, said.append):
        raise KeyboardInterrupt  # Ctrl-C mid-run: the ticket goes too
    assert list(turns.folder("h:1").glob("*.json")) == []
