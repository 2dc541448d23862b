"""What is retried and what is not, and a metric typo in tune mode, on a real local Ray.

A retry can fix a dead worker or node, not an exception from the user's code: that one fails at once
(the tests count how often the trainer started), and the result says what was retried and why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import raydt
from tests.conftest import ROOT, assert_seed_output, run_cli

pytestmark = pytest.mark.slow
FIXTURES = ROOT / "tests/fixtures"


def starts(log: Path) -> int:
    return len(log.read_text().split()) if log.exists() else 0


def test_a_train_loop_raising_the_same_error_is_not_retried_and_is_explained(tmp_path: Path) -> None:
    """An unnamed CLI run whose trainer raises: USER_CODE_ERROR with the user's traceback, not retried though
    retries are allowed, and `raydt explain` finds it from the experiment folder (its ledger, its log beside it)."""
    log = tmp_path / "starts.log"
    spec = {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {
            "trainerPath": f"{FIXTURES}/trainers.py:counts_then_raises",
            "trainLoopConfig": {"log": str(log)},
            "metric": "loss",
        },
        "runConfig": {"storagePath": str(tmp_path / "results"), "maxFailures": 2},  # retries are allowed ...
    }
    (tmp_path / "raises.json").write_text(json.dumps(spec))
    run = run_cli("run", str(tmp_path / "raises.json"))
    out = run.out
    err = out["error"]
    assert run.code == 1 and out["status"] == "error" and err["code"] == "USER_CODE_ERROR", out
    assert starts(log) == 1  # ... but a bug is not one of the failures a retry can fix
    assert "ValueError" in err["message"] and "the same bug every time" in err["message"]
    assert any("the same bug every time" in line for line in err["details"]["traceback"])  # the user's traceback

    exp = Path(err["details"]["experimentPath"])
    assert Path(out["logFile"]).name.startswith(exp.name + "-")  # the log is named after the experiment
    res = run_cli("explain", str(exp))
    first = res.out["causes"][0]
    assert first["code"] == "USER_CODE_ERROR" and "ValueError: the same bug every time" in first["summary"], first
    assert str(exp / "raydt_train.jsonl") in res.out["sources"] and out["logFile"] in res.out["sources"]


def test_a_trial_raising_the_same_error_is_not_trained_again(shared_ray: None, tmp_path: Path) -> None:
    log = tmp_path / "starts.log"
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1},
        "trainConfig": {"trainerPath": f"{FIXTURES}/tune_functions.py:counts_then_raises"},
        "tuneConfig": {
            "searchSpace": {"x": {"type": "grid", "values": [1]}, "log": str(log)},
            "metric": "score",
            "mode": "min",
            "maxFailuresPerTrial": 2,
        },
        "runConfig": {"storagePath": str(tmp_path)},
    }
    out = raydt.run(spec)
    assert_seed_output(out)
    assert out["status"] == "error" and out["trials"][0]["status"] == "ERROR", out
    assert out["trials"][0]["error"]["code"] == "USER_CODE_ERROR"
    assert "the same bug every time" in out["trials"][0]["error"]["message"]
    assert starts(log) == 1
    assert "retries" not in out["results"]


def test_a_metric_typo_in_tune_mode_lists_what_was_reported(shared_ray: None, tmp_path: Path) -> None:
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1},
        "trainConfig": {"trainerPath": f"{FIXTURES}/trainers.py:report_and_checkpoint", "epochs": 2},
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "grid", "values": [0.1, 0.05]}},
            "metric": "los",
            "mode": "min",
        },
        "runConfig": {"storagePath": str(tmp_path)},
    }
    out = raydt.run(spec)
    assert_seed_output(out)
    err = out["error"]
    assert err["code"] == "METRIC_NOT_REPORTED", out
    assert "'los'" in err["message"] and "loss" in err["message"] and "score" in err["message"]
    assert set(err["details"]["reported"]) >= {"loss", "score", "epoch"}
    for text in (err["message"], err["hint"]):
        assert "Traceback" not in text and 'File "' not in text and "\n" not in text
    assert "error.details" not in err["hint"] or err["details"]
    json.dumps(out)
