"""Failures the CLI reports before any Ray starts, as a real process: a wrong address within seconds, a trainer
broken at import before Ray, a taken experiment name with resume: never. (Moved from the slow tier: none of
them starts Ray, so none needs the session cluster.)"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.conftest import FIXTURES, run_cli


def test_wrong_address_is_a_clear_error_within_seconds() -> None:
    start = time.monotonic()
    res = run_cli("cluster", "--address", "127.0.0.1:1")
    assert time.monotonic() - start < 15
    assert res.code == 1
    assert res.out["error"]["code"] == "RAY_CONNECTION"
    assert "127.0.0.1:1" in res.out["error"]["message"]
    assert "config.address" in res.out["error"]["hint"]


def test_trainer_broken_at_import_fails_before_ray(tmp_path: Path) -> None:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"trainerPath": f"{FIXTURES}/broken_import.py:train"},
        "runConfig": {"storagePath": str(tmp_path)},
    }
    (tmp_path / "s.json").write_text(json.dumps(spec))
    start = time.monotonic()
    res = run_cli("run", str(tmp_path / "s.json"))
    assert time.monotonic() - start < 30
    assert res.code == 1 and res.out["error"]["code"] == "USER_CODE_ERROR"
    assert "broken at import time" in res.out["error"]["message"]
    assert os.path.exists(res.out["logFile"])


def test_resume_never_refuses_an_existing_experiment(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    spec = {
        "mode": "train",
        "config": {},
        "runConfig": {"storagePath": str(tmp_path), "name": "taken", "resume": "never"},
    }
    (tmp_path / "s.json").write_text(json.dumps(spec))
    res = run_cli("run", str(tmp_path / "s.json"))
    assert res.code == 2, res.out
    assert res.out["error"]["code"] == "SPEC_INVALID" and "already exists" in res.out["error"]["message"]
