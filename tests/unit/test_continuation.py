"""`raydt run SPEC --continue-from DIR`: the changed search as a new experiment beside the old one (its name, the
warm start, the differences, the rules of --init-from-best), and where each new trial starts (search.starts).
No Ray: experiments are written as files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from raydt import api
from raydt.errors import SpecError
from raydt.experiment import continuation
from raydt.search.starts import Start, nearest, starts
from tests.conftest import ROOT, run_cli

TRAINER = f"{ROOT}/tests/fixtures/tune_functions.py:slow_steps"


def search(storage: Path, name: str = "s", **tune: Any) -> dict[str, Any]:
    return {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"trainerPath": TRAINER},
        "tuneConfig": {"searchSpace": {"x": {"type": "uniform", "min": 1, "max": 4}}, "numSamples": 2, **tune},
        "runConfig": {"storagePath": str(storage), "name": name},
    }


def experiment(storage: Path, spec: dict[str, Any], trials: list[tuple[str, dict[str, Any], float, int]]) -> Path:
    """An earlier search's folder: its stored spec, its ledger, and per trial params/result and checkpoints."""
    exp = storage / spec["runConfig"]["name"]
    exp.mkdir(parents=True)
    (exp / "raydt_spec.json").write_text(json.dumps(spec))
    lines = []
    for trial_id, config, score, checkpoints in trials:
        folder = exp / f"trial_{trial_id}_1_x={config.get('x')}_2026-12-06"
        folder.mkdir()
        (folder / "params.json").write_text(json.dumps(config))
        (folder / "result.json").write_text(json.dumps({"trial_id": trial_id, "score": score}) + "\n")
        for n in range(checkpoints):
            (folder / f"checkpoint_{n:06d}").mkdir()
        lines.append(json.dumps({"event": "complete", "trial": trial_id}))
    lines.append(json.dumps({"event": "error", "trial": "failed01"}))
    (exp / "raydt_trials.jsonl").write_text("\n".join(lines) + "\n")
    return exp


def test_a_changed_search_becomes_a_new_warm_started_experiment_beside_the_old(tmp_path: Path) -> None:
    old = experiment(tmp_path, search(tmp_path), [("a_00000", {"x": 1.5}, 0.2, 1)])
    changed = search(tmp_path, numSamples=6, searchSpace={"x": {"type": "uniform", "min": 0, "max": 2}})
    changed["runConfig"] = {"name": "s"}  # no storage: beside the old one
    got = continuation.prepare(changed, old, (tmp_path,), init_from_best=True)
    assert got.name == "s-cont1" and changed["runConfig"] == {"name": "s-cont1", "storagePath": str(tmp_path)}
    assert changed["tuneConfig"]["warmStart"] == {"experimentPath": str(old), "initFromBest": True}
    keys = {k for k, _, _ in got.changes}
    assert keys == {"tuneConfig.numSamples", "tuneConfig.searchSpace.x.min", "tuneConfig.searchSpace.x.max"}
    summary = got.summary()
    assert {"key": "tuneConfig.numSamples", "old": 2, "new": 6} in summary["differences"]
    (tmp_path / "s-cont1").mkdir()
    again = search(tmp_path, "s-cont1")
    assert continuation.prepare(again, old, (tmp_path,), False).name == "s-cont2"  # the first free number


def test_init_from_best_is_refused_when_what_is_trained_changed(tmp_path: Path) -> None:
    old = experiment(tmp_path, search(tmp_path), [])
    changed = search(tmp_path)
    changed["trainConfig"]["epochs"] = 9
    with pytest.raises(SpecError) as info:
        continuation.prepare(changed, old, (tmp_path,), init_from_best=True)
    issue = info.value.issues[0]
    assert issue.path == "tuneConfig.warmStart.initFromBest" and "trainConfig.epochs" in issue.rule
    assert continuation.prepare(search(tmp_path), old, (tmp_path,), False).name == "s-cont1"  # warm start alone: yes


@pytest.mark.parametrize(
    ("change", "where", "needle"),
    [
        ({"mode": "train"}, "mode", "continues a search"),
        (
            {"tuneConfig": {"warmStart": {"experimentPath": "/elsewhere"}}},
            "tuneConfig.warmStart.experimentPath",
            "differs",
        ),
    ],
)
def test_what_cannot_continue_is_refused_at_its_field(
    tmp_path: Path, change: dict[str, Any], where: str, needle: str
) -> None:
    old = experiment(tmp_path, search(tmp_path), [])
    with pytest.raises(SpecError) as info:
        continuation.prepare({**search(tmp_path), **change}, old, (tmp_path,), False)
    assert info.value.issues[0].path == where and needle in info.value.issues[0].rule


def test_the_cli_refuses_a_folder_that_is_no_experiment_and_the_flag_alone(tmp_path: Path) -> None:
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps(search(tmp_path)))
    res = run_cli("run", str(spec), "--continue-from", str(tmp_path / "nowhere"))
    assert res.code == 2 and res.out["status"] == "error", res.out
    assert "not a raydt experiment folder" in json.dumps(res.out["error"])
    res = run_cli("run", str(spec), "--init-from-best")
    assert res.code == 2 and "--continue-from" in res.out["error"]["message"]


def test_the_changed_spec_error_names_the_continuation(tmp_path: Path) -> None:
    experiment(tmp_path, search(tmp_path), [])
    changed = search(tmp_path, numSamples=5)
    source = api.continued_source(changed, tmp_path / "s")  # the continuation itself validates
    assert source["runConfig"]["name"] == "s-cont1"
    from raydt.experiment import check_same_spec

    with pytest.raises(SpecError) as info:
        check_same_spec(str(tmp_path / "s"), changed, "s", str(tmp_path))
    assert f"--continue-from {tmp_path / 's'}" in (info.value.hint or "")


def test_new_trials_start_from_the_nearest_finished_trial_with_a_checkpoint(tmp_path: Path) -> None:
    trials = [("a_00000", {"x": 1.0}, 0.5, 2), ("a_00001", {"x": 3.0}, 0.1, 1), ("a_00002", {"x": 2.0}, 0.3, 0)]
    exp = experiment(tmp_path, search(tmp_path), trials)
    found = starts(str(exp), "score", "min")
    assert [Path(s.checkpoint).name for s in found] == ["checkpoint_000001", "checkpoint_000000"]  # no ckpt: none
    assert nearest(found, {"x": 1.2}).config == {"x": 1.0}  # type: ignore[union-attr]
    assert nearest(found, {"x": 2.0}).config == {"x": 3.0}  # type: ignore[union-attr]  # equally near: the better
    assert nearest([], {"x": 1}) is None
    kinds = [Start({"opt": "sgd", "lr": 0.1}, "a", 1.0), Start({"opt": "adam", "lr": 0.1}, "b", 2.0)]
    assert nearest(kinds, {"opt": "adam", "lr": 0.1}).checkpoint == "b"  # type: ignore[union-attr]
    assert starts(str(exp), "score", "max")[1].score == -0.1  # max: the higher, the better
