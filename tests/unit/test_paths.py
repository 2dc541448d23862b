"""One rule for every path a spec reads (``raydt.paths``): validation, the plan, data and serving agree, and an
experiment stores the resolved paths so that ``raydt resume`` works from any directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from raydt import experiment, paths, plan
from raydt.errors import SpecError
from raydt.frameworks.common import RESERVED_KEY
from raydt.spec import load

PREDICTOR = "class Predictor:\n    def __init__(self, checkpoint_dir):\n        pass\n\n    def predict(self, rows):\n"
PREDICTOR += "        return [0 for _ in rows]\n"
LOOP = "def train_func(config):\n    pass\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spec's folder with a predictor, a loop, a checkpoint and data; the current directory is elsewhere."""
    folder = tmp_path / "project"
    (folder / "ckpt").mkdir(parents=True)
    (folder / "predictor.py").write_text(PREDICTOR)
    (folder / "my_loop.py").write_text(LOOP)
    (folder / "train.csv").write_text("a,label\n1,0\n2,1\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return folder


def write_spec(folder: Path, spec: dict[str, Any]) -> Path:
    path = folder / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def test_the_rule_current_directory_then_the_spec_folder_else_the_current_directory(project: Path) -> None:
    cwd = Path.cwd()
    (cwd / "both.py").write_text("")
    (project / "both.py").write_text("")
    bases = (cwd, project)
    assert paths.resolve("both.py", bases) == (cwd / "both.py").resolve()  # the current directory first
    assert paths.resolve("predictor.py", bases) == (project / "predictor.py").resolve()  # then the spec's folder
    assert paths.resolve("missing.py", bases) == (cwd / "missing.py").resolve()  # reported where cwd has it
    assert paths.resolve("*.csv", bases) == (project / "*.csv").resolve()  # a glob: the first folder it matches
    assert paths.resolve(str(project / "my_loop.py"), (cwd,)) == project / "my_loop.py"  # absolute: as given
    assert paths.resolve("~/x", bases) == Path.home() / "x"
    assert paths.data_paths(["s3://bucket/a.csv", "train.csv"], bases) == [
        "s3://bucket/a.csv",
        str((project / "train.csv").resolve()),
    ]
    assert paths.resolve_ref("predictor.py:Predictor", bases) == f"{(project / 'predictor.py').resolve()}:Predictor"
    assert paths.resolve_ref("package.module:fn", bases) == "package.module:fn"  # a module: as given


def test_a_relative_predictor_path_next_to_the_spec_is_validated_and_planned_from_another_directory(
    project: Path,
) -> None:
    serve = {"checkpointPath": "ckpt", "predictorPath": "predictor.py:Predictor"}
    loaded = load(write_spec(project, {"mode": "serve", "config": {}, "serveConfig": serve}))
    served = plan.serve(loaded)
    assert served.predictor == f"{(project / 'predictor.py').resolve()}:Predictor"
    assert served.checkpoint_path == str((project / "ckpt").resolve())  # checkpointPath: the same rule
    assert served.experiment_path is None
    from raydt.runners.serve import options

    assert options(loaded.spec.serve_config, served.checkpoint_path or "", served.predictor)["predictorPath"] == (
        served.predictor
    )
    with pytest.raises(SpecError) as info:  # as a dict there is no spec folder: both resolve against cwd only
        load({"mode": "serve", "config": {}, "serveConfig": serve})
    assert {i.path for i in info.value.issues} == {"serveConfig.checkpointPath", "serveConfig.predictorPath"}


def test_resume_from_checkpoint_next_to_the_spec_is_found_and_planned(project: Path) -> None:
    spec = {"mode": "train", "config": {}, "trainConfig": {"resumeFromCheckpoint": "ckpt", "epochs": 1}}
    p = plan.train(load(write_spec(project, spec)))
    assert p.loop_config[RESERVED_KEY]["resumeFrom"] == str((project / "ckpt").resolve())


def test_absolute_spec_resolves_every_path_a_spec_reads(project: Path) -> None:
    raw = {
        "mode": "train",
        "trainConfig": {"trainerPath": "my_loop.py:train_func", "resumeFromCheckpoint": "ckpt"},
        "serveConfig": {"predictorPath": "predictor.py:Predictor", "checkpointPath": "ckpt"},
        "dataConfig": {
            "train": {"format": "csv", "paths": "train.csv"},
            "validation": {"format": "csv", "paths": ["s3://b/v.csv", "*.csv"]},
            "preprocess": [{"mapBatches": "my_loop.py:train_func"}, {"standardize": {}}],
        },
    }
    out = paths.absolute_spec(raw, (Path.cwd(), project))
    at = str(project.resolve())
    assert out["trainConfig"] == {"trainerPath": f"{at}/my_loop.py:train_func", "resumeFromCheckpoint": f"{at}/ckpt"}
    assert out["serveConfig"] == {"predictorPath": f"{at}/predictor.py:Predictor", "checkpointPath": f"{at}/ckpt"}
    assert out["dataConfig"]["train"]["paths"] == f"{at}/train.csv"
    assert out["dataConfig"]["validation"]["paths"] == ["s3://b/v.csv", f"{at}/*.csv"]
    assert out["dataConfig"]["preprocess"] == [{"mapBatches": f"{at}/my_loop.py:train_func"}, {"standardize": {}}]
    assert raw["trainConfig"]["trainerPath"] == "my_loop.py:train_func"  # a copy: the given spec is left alone


def test_resume_from_another_directory_finds_the_files_the_run_used(project: Path, tmp_path: Path) -> None:
    spec = {
        "mode": "train",
        "config": {},
        "trainConfig": {"trainerPath": "my_loop.py:train_func"},
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": "X"},
    }
    loaded = load(write_spec(project, spec))
    p = plan.train(loaded)
    experiment.save_spec(p.experiment_path, loaded.raw, p.name, p.storage_path, base_dirs=loaded.base_dirs)
    stored = json.loads((Path(p.experiment_path) / experiment.SPEC_FILE).read_text())
    assert stored["trainConfig"]["trainerPath"] == f"{(project / 'my_loop.py').resolve()}:train_func"

    resumed = load(experiment.spec_for_resume(p.experiment_path))  # cwd: neither the spec's folder nor the run's
    again = plan.train(resumed)
    assert again.trainer is not None and again.trainer.target == str((project / "my_loop.py").resolve())
    experiment.check_new(again.experiment_path, again.resume, resumed.raw, again.name, again.storage_path)

    # the same spec file, run from another directory: the same files, so the same spec
    experiment.check_same_spec(p.experiment_path, loaded.raw, p.name, p.storage_path, base_dirs=loaded.base_dirs)
    (Path.cwd() / "my_loop.py").write_text(LOOP)  # now the relative path names another file: a changed spec
    moved = load(write_spec(project, spec))
    with pytest.raises(SpecError) as info:
        experiment.check_same_spec(p.experiment_path, moved.raw, p.name, p.storage_path, base_dirs=moved.base_dirs)
    assert [i.path for i in info.value.issues] == ["trainConfig.trainerPath"]


def test_a_spec_stored_with_relative_paths_still_compares_equal(project: Path, tmp_path: Path) -> None:
    raw = {"mode": "train", "config": {}, "trainConfig": {"trainerPath": "my_loop.py:train_func"}}
    folder = tmp_path / "old"
    folder.mkdir()
    stored = {**raw, "runConfig": {"name": "old", "storagePath": str(tmp_path)}}
    (folder / experiment.SPEC_FILE).write_text(json.dumps(stored))  # written by a raydt before paths.absolute_spec
    experiment.check_same_spec(str(folder), raw, "old", str(tmp_path), base_dirs=(Path.cwd(), project))


def test_absolute_spec_resolves_a_user_models_code_and_keeps_builtin_loss_names(tmp_path: Path) -> None:
    raw = {
        "mode": "train",
        "trainConfig": {"model": "models.py:Net", "data": "data.py:load", "loss": "mse",
                        "metrics": ["metrics.py:mae", "metrics.py:r2"]},
    }  # fmt: skip
    spec = paths.absolute_spec(raw, (tmp_path,))["trainConfig"]
    assert spec["model"] == f"{tmp_path / 'models.py'}:Net" and spec["data"] == f"{tmp_path / 'data.py'}:load"
    assert spec["loss"] == "mse"  # a built-in name, not a file
    assert spec["metrics"] == [f"{tmp_path / 'metrics.py'}:mae", f"{tmp_path / 'metrics.py'}:r2"]
    assert raw["trainConfig"]["model"] == "models.py:Net"  # the given spec is left as it was


def test_storage_paths_keep_uris_and_read_file_uris_as_local_paths(tmp_path: Path) -> None:
    from raydt.paths import output_dir

    assert output_dir("s3://bucket/runs") == "s3://bucket/runs"  # Ray's to write
    assert output_dir(f"file://{tmp_path}/runs") == str(tmp_path / "runs")  # not <cwd>/file:/...


def test_an_absolute_spec_keeps_uris_and_registry_models(tmp_path: Path) -> None:
    raw = {
        "trainConfig": {"resumeFromCheckpoint": "s3://bucket/run/checkpoint_000004"},
        "serveConfig": {"checkpointPath": "models:/digits@champion", "experimentPath": "gs://bucket/run"},
    }
    assert paths.absolute_spec(raw, (tmp_path,)) == raw  # not <base>/s3:/bucket/...
