"""Serving a stored experiment and the exit codes of errors that surface while running, through the real CLI
(no Ray is started here: every run below fails before it would)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from raydt import results
from raydt.errors import DataError, RunError, SpecError, SpecFileError, SpecIssue, UsageError
from tests.conftest import free_port, run_cli


def stored_experiment(root: Path, spec: dict[str, Any]) -> Path:
    """An experiment directory as a train/tune run leaves it: its spec in raydt_spec.json (no Ray results)."""
    path = root / "results" / "run"
    path.mkdir(parents=True)
    (path / "raydt_spec.json").write_text(json.dumps(spec))
    return path


STORED = {
    "mode": "train",
    "config": {"numWorkers": 1},
    "trainConfig": {"framework": "xgboost", "trainerPath": "code/loop.py:train", "metric": "val_error"},
    "dataConfig": {"train": {"format": "csv", "paths": "data/train.csv", "label": "y"}},  # relative to its spec
}


def test_the_stored_spec_paths_are_not_needed_to_rank_an_experiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from raydt.serving.loading import ranking

    exp = stored_experiment(tmp_path, STORED)
    monkeypatch.chdir(tmp_path)  # neither data/train.csv nor code/loop.py exists from here (or anywhere)
    assert ranking(str(exp)) == ("train", "val_error", "min")
    tune = {**STORED, "mode": "tune", "tuneConfig": {"metric": "val_acc", "mode": "max"}}
    assert ranking(str(stored_experiment(tmp_path / "t", tune))) == ("tune", "val_acc", "max")


def test_serving_an_experiment_from_another_directory_gets_past_its_stored_data_paths(tmp_path: Path) -> None:
    exp = stored_experiment(tmp_path, STORED)
    spec = {"mode": "serve", "config": {}, "serveConfig": {"experimentPath": str(exp), "port": free_port()}}
    spec["runConfig"] = {"storagePath": str(tmp_path / "serve")}
    (tmp_path / "serve.json").write_text(json.dumps(spec))
    res = run_cli("run", str(tmp_path / "serve.json"), "--quiet", cwd=tmp_path)
    # the stored spec's dataConfig is no longer re-validated: what is missing is the run's checkpoint
    assert res.code == 1 and res.out["error"]["code"] == "RUN_FAILED", res.out
    assert "has no checkpoint to serve" in res.out["error"]["message"]
    assert "dataConfig" not in res.stdout


@pytest.mark.parametrize("detach", [False, True])
def test_an_unusable_stored_spec_is_spec_invalid_exit_2_naming_raydt_spec_json(tmp_path: Path, detach: bool) -> None:
    exp = stored_experiment(tmp_path, {"mode": "train", "config": {"numWorkers": "many"}})
    spec = {"mode": "serve", "config": {}, "serveConfig": {"experimentPath": str(exp), "port": free_port()}}
    spec["runConfig"] = {"storagePath": str(tmp_path / "serve")}
    (tmp_path / "serve.json").write_text(json.dumps(spec))
    res = run_cli("run", str(tmp_path / "serve.json"), *(["--detach"] if detach else []), timeout=120)
    assert res.code == 2 and res.out["status"] == "error", res.out  # --detach exited 1 for every error
    (issue,) = res.out["error"]["issues"]
    assert res.out["error"]["code"] == "SPEC_INVALID" and issue["path"] == "serveConfig.experimentPath"
    assert f"stored training spec {exp / 'raydt_spec.json'}" in issue["rule"] and "config.numWorkers" in issue["rule"]
    assert issue["value"] == str(exp) and "raydt_spec.json" in issue["hint"]
    if detach:  # the background run's live view was relayed to this command's stderr
        assert "mode serve" in res.stderr and "done: error" in res.stderr, res.stderr


def test_detach_quiet_relays_nothing(tmp_path: Path) -> None:
    exp = stored_experiment(tmp_path, {"mode": "train", "config": {"numWorkers": "many"}})
    spec = {"mode": "serve", "config": {}, "serveConfig": {"experimentPath": str(exp), "port": free_port()}}
    spec["runConfig"] = {"storagePath": str(tmp_path / "serve")}
    (tmp_path / "serve.json").write_text(json.dumps(spec))
    res = run_cli("run", str(tmp_path / "serve.json"), "--detach", "--quiet", timeout=120)
    assert res.code == 2 and res.stderr == ""


def test_a_storage_path_that_cannot_be_written_is_spec_invalid_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    spec = {"mode": "cluster", "config": {}, "runConfig": {"storagePath": str(tmp_path / "a-file" / "results")}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    res = run_cli("run", str(tmp_path / "spec.json"), timeout=60)  # run_cli asserts: no traceback on stderr
    assert res.code == 2 and res.out["error"]["code"] == "SPEC_INVALID", res.out
    assert res.out["error"]["issues"][0]["path"] == "runConfig.storagePath"


@pytest.mark.parametrize(
    ("err", "code"),
    [
        (SpecError([SpecIssue("config.numWorkers", "must be >= 1", 0)]), 2),
        (SpecFileError("spec file not found: x.json"), 2),
        (DataError([SpecIssue("dataConfig.train.paths", "has no rows", "a.csv")]), 2),
        (UsageError("no command given"), 2),
        (RunError("the search failed"), 1),
    ],
)
def test_every_result_maps_to_the_exit_code_of_its_error(err: Any, code: int) -> None:
    doc = results.error_result(err)
    assert results.exit_code(doc) == code == err.exit_code
    assert results.exit_code(json.loads(json.dumps(doc))) == code  # as read back from a detached run's output
    assert results.exit_code({"status": "partial", "results": {}}) == 3
    assert results.exit_code({"status": "success", "results": {}}) == 0


def test_the_live_view_relay_copies_whole_lines_only(tmp_path: Path) -> None:
    from raydt.serving.detach import _Tail

    live, err = tmp_path / "live.log", io.StringIO()
    tail = _Tail(live, err)
    tail()  # no file yet: nothing, no error
    live.write_text("[raydt 0.1s] spec s.json: mode train\n[raydt 2.0s] epoch 1/2  loss=0.5")
    tail()
    assert err.getvalue() == "[raydt 0.1s] spec s.json: mode train\n"
    with live.open("a") as fh:
        fh.write("  [ckpt]\n")
    tail()
    tail()
    assert err.getvalue().splitlines() == [
        "[raydt 0.1s] spec s.json: mode train",
        "[raydt 2.0s] epoch 1/2  loss=0.5  [ckpt]",
    ]
    silent = _Tail(live, None)
    silent()  # --quiet: nothing is read or written
