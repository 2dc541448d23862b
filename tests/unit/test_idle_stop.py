"""`raydt cluster up --idle-stop`: the duration, what counts as use (real processes and files, no Ray), and the
history `cluster status` shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from raydt.clusters import idle, options, state
from raydt.errors import OptionError


@pytest.fixture(autouse=True)
def own_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAYDT_STATE_DIR", str(tmp_path / "state"))


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800.0), ("90s", 90.0), ("2h", 7200.0), ("45", 45.0), ("1.5m", 90.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert options.parse_duration(text) == seconds
    assert options.build({"idle_stop": text}).idle_stop_s == seconds


@pytest.mark.parametrize("text", ["soon", "-5m", "0s", "10 minutes", ""])
def test_a_bad_duration_names_the_flag(text: str) -> None:
    with pytest.raises(OptionError) as info:
        options.build({"idle_stop": text})
    assert info.value.issues[0].path == "--idle-stop" and "duration" in info.value.issues[0].rule


def test_a_connected_driver_and_a_waiting_run_are_use_an_idle_cluster_is_not(tmp_path: Path) -> None:
    logs = tmp_path / "ray" / "session_latest" / "logs"
    logs.mkdir(parents=True)
    rec = {"id": "nobody-has-this-tag", "rayTempDir": str(tmp_path / "ray"), "address": "127.0.0.1:1"}
    assert idle.busy(rec) is None
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (logs / f"python-core-driver-01000000ffff_{driver.pid}.log").write_text("")
        assert idle.busy(rec) == f"a driver connected to it (pid {driver.pid})"
    finally:
        driver.kill()
        driver.wait()
    assert idle.busy(rec) is None  # its process is gone: no longer use
    from raydt.clusters import turns

    with turns.turn("127.0.0.1:1", {"CPU": 1.0}, {"CPU": 2.0}, print):
        assert idle.busy(rec) == "a raydt run holding or waiting for its turn"


def test_the_history_keeps_the_last_events_oldest_first() -> None:
    state.log_event("up", "a1", address="x")
    state.log_event("down", "a1", reason="idle for 31s (--idle-stop 30s): nothing used it")
    events = state.history()
    assert [e["event"] for e in events] == ["up", "down"] and "idle" in events[1]["reason"]
    for n in range(state.HISTORY_KEEP + 5):
        state.log_event("up", f"c{n}")
    assert (
        len(state.history(limit=10_000)) == state.HISTORY_KEEP
        and state.history(1)[0]["id"] == f"c{state.HISTORY_KEEP + 4}"
    )
