"""The experiment directory keeps the spec a run started with: a changed spec under the same name is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from raydt import api, experiment
from tests.conftest import assert_seed_output


def tune_spec(tmp_path: Path, samples: int, top: float) -> dict[str, Any]:
    return {
        "mode": "tune",
        "config": {"numWorkers": 1},
        "trainConfig": {"epochs": 1},
        "tuneConfig": {"searchSpace": {"lr": {"type": "uniform", "min": 0.001, "max": top}}, "numSamples": samples},
        "runConfig": {"storagePath": str(tmp_path), "name": "X"},
    }


def test_a_changed_spec_under_a_taken_name_is_refused_before_anything_runs(tmp_path: Path) -> None:
    first = tune_spec(tmp_path, 5, 0.1)
    experiment.save_spec(str(tmp_path / "X"), first, "X", str(tmp_path))
    stored = (tmp_path / "X" / experiment.SPEC_FILE).read_text()

    out, code = api.execute(tune_spec(tmp_path, 8, 0.05))  # no Ray needed: refused before connecting
    assert_seed_output(out)
    assert code == 2 and out["error"]["code"] == "SPEC_INVALID", out
    paths = {i["path"]: i for i in out["error"]["issues"]}
    assert set(paths) == {"tuneConfig.numSamples", "tuneConfig.searchSpace.lr.max"}
    assert paths["tuneConfig.numSamples"]["value"] == 8 and "stored: 5" in paths["tuneConfig.numSamples"]["rule"]
    assert "new runConfig.name" in out["error"]["hint"] and "raydt resume" in out["error"]["hint"]
    assert "Ctrl-C" not in json.dumps(out)
    assert (tmp_path / "X" / experiment.SPEC_FILE).read_text() == stored  # never overwritten


def test_the_same_spec_and_resume_may_continue(tmp_path: Path) -> None:
    spec = tune_spec(tmp_path, 5, 0.1)
    experiment.save_spec(str(tmp_path / "X"), spec, "X", str(tmp_path))
    experiment.check_same_spec(str(tmp_path / "X"), spec, "X", str(tmp_path))  # same spec: no error
    resumed = experiment.spec_for_resume(tmp_path / "X")
    assert resumed["runConfig"]["resume"] == "auto"
    experiment.check_same_spec(str(tmp_path / "X"), resumed, "X", str(tmp_path))
    moved = tmp_path / "elsewhere"
    (tmp_path / "X").rename(moved)
    experiment.check_same_spec(str(moved), experiment.spec_for_resume(moved), "elsewhere", str(tmp_path))


def test_save_spec_never_overwrites(tmp_path: Path) -> None:
    experiment.save_spec(str(tmp_path / "X"), tune_spec(tmp_path, 5, 0.1), "X", str(tmp_path))
    experiment.save_spec(str(tmp_path / "X"), tune_spec(tmp_path, 8, 0.1), "X", str(tmp_path))
    stored = json.loads((tmp_path / "X" / experiment.SPEC_FILE).read_text())
    assert stored["tuneConfig"]["numSamples"] == 5


def test_two_runs_started_in_the_same_second_get_different_default_names() -> None:
    from raydt import plan
    from raydt.spec import loader

    spec = {"mode": "train", "config": {"numWorkers": 1}}
    names = {plan.train(loader.load(spec)).name for _ in range(20)}
    assert len(names) == 20 and all(n.startswith("raydt-train-") for n in names)
