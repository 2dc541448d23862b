"""Local state (``raydt.state``): the state folder, atomic writes, liveness by pid (zombies are dead) and stopping
by pid (SIGTERM, then SIGKILL, a process group when asked). Every process started here is ended by its pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from raydt import state

SLEEP = "import time; time.sleep(60)"
#: ignores SIGTERM and starts a child that inherits that, then prints the child's pid
TREE = (
    "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); print(c.pid, flush=True); "
    "time.sleep(60)"
)
#: ignores SIGTERM and says so on stdout once the handler is in place (only SIGKILL ends it)
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
)


@pytest.fixture
def spawn() -> Iterator[Any]:
    """Start a Python child (``code``); every one is killed by its pid and reaped at teardown."""
    started: list[subprocess.Popen[bytes]] = []

    def _spawn(code: str = SLEEP, **kwargs: Any) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, **kwargs)
        started.append(proc)
        if code == STUBBORN:
            assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        return proc

    yield _spawn
    for proc in started:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _zombie(proc: subprocess.Popen[bytes]) -> None:
    """Wait until ``proc`` has exited but is not reaped yet (Popen.poll would reap it)."""
    deadline = time.monotonic() + 10
    while state._proc_state(proc.pid) != "Z":
        assert time.monotonic() < deadline, "the child never became a zombie"
        time.sleep(0.02)


def test_the_state_folder_is_the_env_variable_else_dot_raydt_in_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAYDT_STATE_DIR", str(tmp_path / "s"))
    assert state.state_dir() == tmp_path / "s"
    assert state.state_dir("mcp", "runs") == tmp_path / "s" / "mcp" / "runs"
    assert not (tmp_path / "s").exists()  # asked for, not made
    assert state.state_dir("serve", create=True).is_dir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unset in (lambda: monkeypatch.delenv("RAYDT_STATE_DIR"), lambda: monkeypatch.setenv("RAYDT_STATE_DIR", "")):
        unset()
        assert state.state_dir() == tmp_path / "home" / ".raydt"
        assert state.state_dir("clusters") == tmp_path / "home" / ".raydt" / "clusters"


def test_an_atomic_write_replaces_the_file_and_leaves_no_scratch(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text("old")
    assert state.write_json_atomic(path, {"a": 1, "when": Path("/x")}, default=str) == path
    assert path.read_text() == json.dumps({"a": 1, "when": "/x"}, indent=2)
    state.write_json_atomic(path, {"b": [1]}, indent=1)
    assert path.read_text() == json.dumps({"b": [1]}, indent=1)
    assert state.write_text_atomic(str(tmp_path / "page.html"), "<p>é</p>").read_text(encoding="utf-8") == "<p>é</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.json", "page.html"]


def test_a_failed_atomic_write_leaves_the_old_file_and_no_partial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "doc.json"
    state.write_json_atomic(path, {"v": 1})
    with pytest.raises(TypeError):  # cannot be serialised: nothing is written
        state.write_json_atomic(path, {"v": object()})
    with pytest.raises(OSError):  # fails on the rename: the scratch file is removed
        monkeypatch.setattr(os, "replace", lambda *_: (_ for _ in ()).throw(OSError("disk gone")))
        state.write_json_atomic(path, {"v": 2})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["doc.json"]
    with pytest.raises(OSError):  # no folder: nothing is made
        state.write_json_atomic(tmp_path / "missing" / "doc.json", {})


def test_read_json_is_the_object_or_none(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    assert state.read_json(path) is None  # absent
    path.write_text('{"a": 1}')
    assert state.read_json(path) == {"a": 1}
    for text in ("{half", "[1, 2]", "3"):  # unparsable, or no object
        path.write_text(text)
        assert state.read_json(path) is None


def test_alive_this_process_a_dead_child_and_a_zombie(spawn: Any) -> None:
    assert state.alive(os.getpid())
    assert not state.alive(0) and not state.alive(-1)
    proc = spawn("pass")
    _zombie(proc)
    assert not state.alive(proc.pid)  # exited, not yet reaped: dead
    proc.wait()
    assert not state.alive(proc.pid)  # reaped: gone
    sleeper = spawn()
    assert state.alive(sleeper.pid)
    if os.getpid() != 1:
        assert state.alive(1)  # init: another user's process (EPERM, unless we are root) lives


def test_stop_sends_sigterm_and_returns_nothing_once_all_ended(spawn: Any) -> None:
    a, b = spawn(), spawn()
    start = time.monotonic()
    assert state.stop([a.pid, b.pid], grace_s=10, kill_wait_s=5) == []
    assert time.monotonic() - start < 8  # SIGTERM was enough: no waiting out the grace
    for proc in (a, b):
        assert proc.wait(timeout=5) == -signal.SIGTERM


def test_stop_kills_what_ignores_sigterm_after_the_grace(spawn: Any) -> None:
    stubborn, polite = spawn(STUBBORN), spawn()
    start = time.monotonic()
    assert state.stop([stubborn.pid, polite.pid], grace_s=0.5, kill_wait_s=5) == []
    assert time.monotonic() - start >= 0.5
    assert stubborn.wait(timeout=5) == -signal.SIGKILL
    assert polite.wait(timeout=5) == -signal.SIGTERM


def test_stop_leaves_alone_what_does_not_live_or_is_not_ours(spawn: Any) -> None:
    ours, other = spawn(), spawn()
    mine = lambda pid: pid == ours.pid and state.alive(pid)  # noqa: E731 - "ours", as clusters' tag check says
    assert state.stop([ours.pid, other.pid, 0, -1, 2**22 + 12345], 5, lives=mine) == []
    assert ours.wait(timeout=5) == -signal.SIGTERM
    assert other.poll() is None  # never signalled


def test_stop_returns_the_pids_that_still_live() -> None:
    with subprocess.Popen([sys.executable, "-c", SLEEP]) as proc:
        try:  # ``lives`` says it never ends: SIGTERM, SIGKILL, and it is returned
            assert state.stop([proc.pid], 0.2, kill_wait_s=0.2, lives=lambda pid: True) == [proc.pid]
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=5) == -signal.SIGTERM


@pytest.mark.parametrize("group", [False, True])
def test_stop_kills_the_process_group_a_pid_leads_only_when_asked(spawn: Any, group: bool) -> None:
    leader = spawn(TREE, start_new_session=True)
    assert leader.stdout is not None
    child = int(leader.stdout.readline())  # ignores SIGTERM too, in the leader's group
    try:
        assert state.stop([leader.pid], 0.3, group=group) == []
        assert leader.wait(timeout=5) == -signal.SIGKILL
        assert state.wait_gone([child], 5 if group else 0.3) == ([] if group else [child])
    finally:
        state.send(child, signal.SIGKILL)
    assert not state.send(leader.pid, signal.SIGTERM)  # reaped: gone
    assert not state.send(0, signal.SIGTERM)  # never the caller's own group
