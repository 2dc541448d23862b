"""The Python API has what the CLI has: serve status and shutdown, and detached runs (no Ray needed here)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import raydt
from tests.conftest import assert_seed_output


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RAYDT_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_serve_status_lists_recorded_runs_and_their_liveness(state_dir: Path) -> None:
    assert raydt.serve_status()["deployments"] == []
    state_dir.mkdir(parents=True, exist_ok=True)
    record = {"pid": os.getpid(), "port": 18123, "endpoint": "http://127.0.0.1:18123", "mode": "serve"}
    (state_dir / "serve").mkdir(parents=True, exist_ok=True)
    (state_dir / "serve" / "18123.state.json").write_text(json.dumps(record))
    out = raydt.serve_status(18123)
    assert_seed_output(out)
    assert [d["port"] for d in out["deployments"]] == [18123] and out["deployments"][0]["alive"] is True
    assert raydt.serve_status(18124)["deployments"] == []


def test_serve_shutdown_without_a_run_is_a_usage_error(state_dir: Path) -> None:
    out, code = raydt.serve_shutdown(18125)
    assert_seed_output(out)
    assert code == 2 and out["error"]["code"] == "USAGE" and "18125" in out["error"]["message"]


def test_run_detached_refuses_a_spec_that_does_not_serve(tmp_path: Path) -> None:
    spec = tmp_path / "train.json"
    spec.write_text(json.dumps({"mode": "train", "config": {"numWorkers": 1}}))
    out, code = raydt.run_detached(spec)
    assert code == 2 and out["error"]["code"] == "USAGE" and "--detach" in out["error"]["message"]
