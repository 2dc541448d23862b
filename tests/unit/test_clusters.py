"""The lasting cluster without Ray: its record (atomic, a dead head's record ignored and cleared), pids
found and stopped only by the cluster's tag, option parsing and errors, and how ``raydt run`` finds it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from raydt import ray_session
from raydt.clusters import options, procs, start, state
from raydt.errors import OptionError, UsageError
from tests.conftest import run_cli


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("RAYDT_STATE_DIR", str(folder))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return folder


@pytest.fixture
def spawn() -> Iterator[Any]:
    """Start sleeping processes (tagged with a cluster id, or not); each is killed by its pid at teardown."""
    started: list[subprocess.Popen[bytes]] = []

    def _spawn(cluster_id: str | None) -> int:
        env = dict(os.environ)
        if cluster_id:
            env[procs.TAG] = cluster_id
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)
        started.append(proc)
        deadline = time.monotonic() + 10  # its /proc environ shows the tag once it runs (slow on a loaded machine)
        while cluster_id and not procs.belongs(proc.pid, cluster_id) and time.monotonic() < deadline:
            time.sleep(0.02)
        return proc.pid

    yield _spawn
    for proc in started:
        proc.kill()
        proc.wait()


def _record(head_pid: int, cluster_id: str = "abc123", **extra: Any) -> dict[str, Any]:
    rec = {
        "id": cluster_id,
        "address": "127.0.0.1:45678",
        "host": "127.0.0.1",
        "headPid": head_pid,
        "pids": [head_pid],
        "dashboardUrl": "http://127.0.0.1:45679",
        "tokenFile": "/nonexistent/auth_token",
    }
    rec.update(extra)
    state.write(rec)
    return rec


def test_the_record_is_written_atomically_and_read_back(state_dir: Path) -> None:
    assert state.read() is None
    _record(123)
    path = state.record_path()
    assert path.parent == state_dir / "clusters"
    assert json.loads(path.read_text())["headPid"] == 123
    assert [p.name for p in path.parent.iterdir()] == ["cluster.json"]  # no scratch file left
    path.write_text("{half")
    assert state.read() is None  # unreadable: treated as absent


def test_a_record_whose_head_died_is_not_a_running_cluster(spawn: Any) -> None:
    _record(2**22 + 12345)  # no such pid
    assert state.running() is None
    _record(spawn(None))  # a live pid that is not the cluster's (pid reuse): not its head either
    assert state.running() is None
    _record(spawn("abc123"))
    assert state.running() is not None


def test_pids_are_found_and_stopped_only_by_the_cluster_tag(spawn: Any) -> None:
    ours, other, stranger = spawn("c1"), spawn("c2"), spawn(None)
    assert procs.tagged("c1") == [ours]
    assert procs.stop([ours, other, stranger], "c1", timeout=5) == []
    assert not procs.belongs(ours, "c1")
    os.kill(stranger, 0)  # still alive: never touched
    assert procs.belongs(other, "c2")


def test_a_stale_record_is_cleared_and_its_leftovers_stopped(spawn: Any, state_dir: Path) -> None:
    leftover = spawn("dead01")
    folder = state_dir / "clusters" / "dead01"
    folder.mkdir(parents=True)
    _record(2**22 + 12345, cluster_id="dead01", folder=str(folder))
    note = start.clear_stale()
    assert note and "had died" in note and str(leftover) in note
    assert state.read() is None and not folder.exists()
    assert not procs.belongs(leftover, "dead01")


def test_a_second_up_is_refused_with_where_the_first_runs(spawn: Any) -> None:
    _record(spawn("abc123"))
    with pytest.raises(UsageError, match=r"already runs at 127\.0\.0\.1:45678") as info:
        start.up(options.UpOptions())
    assert info.value.exit_code == 2 and "cluster down" in (info.value.hint or "")


def test_cli_up_refused_and_down_without_a_cluster_are_json_errors(spawn: Any) -> None:
    down = run_cli("cluster", "down")
    assert down.code == 2 and down.out["error"]["code"] == "USAGE" and "no cluster" in down.out["error"]["message"]
    _record(spawn("abc123"))
    again = run_cli("cluster", "up", "--cpus", "1")
    assert again.code == 2 and "already runs at 127.0.0.1:45678" in again.out["error"]["message"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["cluster", "status", "--cpus", "1"], "--cpus does not apply to status"),
        (["cluster", "down", "--workers", "1"], "--workers does not apply to down"),
        (["cluster", "up", "--address", "127.0.0.1:1"], "--address does not apply to up"),
        (["cluster", "up", "--cpus", "many"], "invalid float value"),
        (["cluster", "sideways"], "invalid choice"),
        (["cluster", "up", "--resources", "{bad"], "--resources"),
        (["cluster", "up", "--workers", "99"], "--workers"),
        (["cluster", "up", "--host", "not-an-ip"], "--host"),
    ],
)
def test_cluster_command_line_errors_exit_2(args: list[str], needle: str) -> None:
    res = run_cli(*args)
    assert res.code == 2 and res.out["status"] == "error", res.out
    assert needle in json.dumps(res.out["error"]), res.out


def test_options_flags_win_over_the_spec_and_bad_values_name_their_path() -> None:
    built = options.build({"cpus": 2, "workers": 1}, {"num_cpus": 4, "num_gpus": 1, "resources": {"accel": 2}})
    assert (built.head.cpus, built.head.gpus, built.head.custom) == (2.0, 1.0, {"accel": 2.0})
    assert built.workers == 1 and built.worker.cpus == 1.0 and built.loopback
    assert built.head.flags() == ["--num-cpus=2", "--num-gpus=1", '--resources={"accel": 2.0}']
    for flags, path in (
        ({"resources": '{"CPU": 1}'}, "--resources"),
        ({"resources": '{"a": -1}'}, "--resources"),
        ({"cpus": -1}, "--cpus"),
        ({"memory": 1.5}, "--memory"),
    ):
        with pytest.raises(OptionError) as info:
            options.build(flags)
        assert info.value.issues[0].path == path
    with pytest.raises(OptionError) as info:
        options.build({}, {"num_cpus": "two"})
    assert info.value.issues[0].path == "config.rayInit.num_cpus"


def test_another_host_warns_and_names_the_exposure() -> None:
    opts = options.build({"host": "0.0.0.0"})
    assert not opts.loopback
    warning = options.exposure_warning(opts, {"port": 6379, "dashboard": 8265}) or ""
    assert "0.0.0.0" in warning and "dashboard 8265" in warning and "public" in warning
    assert options.exposure_warning(options.build({}), {"port": 1}) is None


def test_run_uses_the_running_cluster_unless_told_otherwise(spawn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from raydt import plan, ray_session
    from raydt.spec import loader

    def address(config: dict[str, Any]) -> str | None:
        return plan.address(loader.load({"mode": "cluster", "config": config}))

    assert address({}) is None  # nothing recorded: an embedded Ray
    _record(spawn("abc123"), tokenFile="/tmp/x/auth_token")
    assert address({}) == "127.0.0.1:45678"
    assert address({"address": "local"}) == "local"
    assert address({"address": "10.0.0.1:6379"}) == "10.0.0.1:6379"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.2:6379")
    assert address({}) == "10.0.0.2:6379"
    assert "raydt cluster up" in ray_session.describe("127.0.0.1:45678")
    assert "local" in ray_session.describe("local")
    assert ray_session._source("local", None) == "embedded"


def test_the_driver_presents_the_cluster_token_only_around_its_connection(
    spawn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    _record(spawn("abc123"), tokenFile="/tmp/x/auth_token")
    with ray_session.auth_env("10.0.0.1:6379") as rec:
        assert rec is None and "RAY_AUTH_MODE" not in os.environ
    with ray_session.auth_env("127.0.0.1:45678") as rec:
        assert rec is not None
        assert os.environ["RAY_AUTH_MODE"] == "token" and os.environ["RAY_AUTH_TOKEN_PATH"] == "/tmp/x/auth_token"
    assert "RAY_AUTH_MODE" not in os.environ and "RAY_AUTH_TOKEN_PATH" not in os.environ


def test_public_view_never_holds_the_token(tmp_path: Path) -> None:
    shown = start.public({"id": "x", "tokenFile": str(tmp_path / "t"), "tokenSource": "file t", "host": "127.0.0.1"})
    assert "tokenFile" not in shown and shown["tokenSource"] == "file t" and shown["loopbackOnly"]
