"""The warm runner's rules (``clusters.warm``): which commands are handed over, which clients it refuses, where its
socket lives. The fork itself runs in ``tests/integration/test_warm.py`` against the session cluster."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from raydt.cli import warm_runner as runner
from raydt.clusters import warm


@pytest.mark.parametrize(
    "argv",
    [[], ["validate", "spec.json"], ["run", "serve.yaml", "--detach"], ["cluster", "status"], ["schema"]],
)
def test_only_runs_in_the_foreground_are_handed_over(argv: list[str]) -> None:
    assert warm.hand_over(argv) is None


def test_no_runner_no_hand_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAYDT_STATE_DIR", str(tmp_path))  # no cluster recorded
    assert warm.hand_over(["run", "spec.json"]) is None
    monkeypatch.setenv(warm.ENV, "0")
    assert warm.hand_over(["run", "spec.json"]) is None


def test_a_dead_runners_socket_is_no_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record that names a socket nobody listens on (the runner was killed): the client runs cold."""
    import socket

    from raydt.clusters import state

    monkeypatch.setenv("RAYDT_STATE_DIR", str(tmp_path))
    path = str(tmp_path / "r.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.close()  # the file stays, nobody accepts
    monkeypatch.setattr(state, "running", lambda: {"runnerSocket": path})
    assert warm.hand_over(["run", "spec.json"]) is None


def test_the_socket_path_fits_a_unix_socket(tmp_path: Path) -> None:
    assert warm.socket_path("/s/abc") == "/s/abc/runner.sock"
    deep = "/tmp/" + "x" * 120
    path = warm.socket_path(deep)
    assert path.startswith("/tmp/raydt-runner-") and len(path) < 100
    assert warm.socket_path(deep) == path  # stable: the client finds it through the record, `down` removes it


def test_the_runner_refuses_another_python_or_raydt_and_notices_changed_code(tmp_path: Path) -> None:
    hello = {"argv": ["run", "x"], "env": {"A": "1"}, "python": sys.executable, "code": warm.code_id()}
    assert runner._refusal(hello, time.time() + 60) is None
    assert "another Python" in str(runner._refusal({**hello, "python": "/usr/bin/python9"}, time.time() + 60))
    assert "another Python" in str(runner._refusal({**hello, "code": "0.0.1 /elsewhere"}, time.time() + 60))
    assert "not a run" in str(runner._refusal({**hello, "argv": []}, time.time() + 60))
    newest = max(p.stat().st_mtime for p in Path(runner.__file__).parent.parent.rglob("*.py"))
    assert "changed" in str(runner._refusal(hello, newest - 1))  # a source file newer than the runner


def test_the_client_side_imports_no_ray(tmp_path: Path) -> None:
    """The client side is standard library only: handing over costs milliseconds, not Ray's import."""
    import subprocess

    code = "import sys, raydt.clusters.warm as w; w.hand_over(['run', 'x']); print('ray' in sys.modules)"
    env = {**os.environ, "RAYDT_STATE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "False"
