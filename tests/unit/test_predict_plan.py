"""mode predict without Ray: the plan (paths resolved once, the actor pool's resources), the stored spec's paths,
the result keys, the runner's registration by name and `raydt predict`'s refusal of other modes."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from raydt import experiment, paths, plan, results
from raydt.cli import main
from raydt.runners import runner
from raydt.spec import loader
from tests.conftest import assert_seed_output


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An experiment, rows, a predictor, and a spec file in ``tmp_path/specs``; the current directory elsewhere."""
    (tmp_path / "specs" / "exp" / "checkpoint_000001").mkdir(parents=True)
    (tmp_path / "specs" / "rows").mkdir()
    (tmp_path / "specs" / "rows" / "a.csv").write_text("id,x\n1,0.5\n")
    (tmp_path / "specs" / "predictor.py").write_text("class Predictor:\n    pass\n")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")  # plan.address: no lasting cluster looked up
    return tmp_path


def write(files: Path, config: dict[str, Any] | None = None, **keys: Any) -> Path:
    pc = {"experimentPath": "exp", "data": {"format": "csv", "paths": "rows/*.csv"}, "output": {"path": "scores"}}
    spec = {"mode": "predict", "config": config or {}, "predictConfig": {**pc, **keys}}
    path = files / "specs" / "predict.json"
    path.write_text(json.dumps(spec))
    return path


def test_the_plan_resolves_every_path_once(files: Path) -> None:
    p = plan.predict(loader.load(write(files, predictorPath="predictor.py:Predictor", keepColumns=["id"])))
    specs = files / "specs"
    assert (p.experiment_path, p.checkpoint_path) == (str(specs / "exp"), None)
    assert p.predictor == f"{specs / 'predictor.py'}:Predictor"
    assert p.data_paths == [str(specs / "rows" / "*.csv")]  # against the spec's folder; the glob kept
    assert p.output_path == str(files / "cwd" / "scores")  # written: against the current directory
    assert (p.data_format, p.features, p.keep_columns, p.output_format) == ("csv", None, ["id"], "parquet")
    assert (p.batch_size, p.on_bad_rows, p.probabilities, p.overwrite) == (256, "fail", False, False)
    assert p.address == "127.0.0.1:6379" and p.ray_init == {}
    assert p.name.startswith("raydt-predict-") and p.storage_path == str(Path("~/raydt_results").expanduser())
    assert p.run_path == str(Path(p.storage_path) / p.name)


def test_the_actor_pool_is_config_s_workers_with_explicit_resources(files: Path) -> None:
    p = plan.predict(loader.load(write(files, {"numWorkers": 3, "resourcesPerWorker": {"cpu": 2}})))
    assert (p.concurrency, p.actor_resources, p.use_gpu) == (3, {"CPU": 2.0}, False)
    gpu = plan.predict(loader.load(write(files, {"numWorkers": 2, "useGpu": True}, concurrency=4)))
    assert (gpu.concurrency, gpu.actor_resources, gpu.use_gpu) == (4, {"CPU": 1.0, "GPU": 1.0}, True)
    half = {"useGpu": True, "resourcesPerWorker": {"cpu": 1, "gpu": 0.5, "memoryGb": 2}}
    assert plan.predict(loader.load(write(files, half))).actor_resources == {"CPU": 1.0, "GPU": 0.5, "memory": 2e9}


def test_the_plan_keeps_uris_and_the_spec_s_settings(files: Path) -> None:
    spec = write(
        files, experimentPath=None, checkpointPath="models:/digits@champion", data={"format": "parquet",
        "paths": ["s3://bucket/rows/", "rows/a.csv"], "features": ["x"]}, output={"path": "s3://bucket/out",
        "format": "json"}, batchSize=64, onBadRows="skip", probabilities=True, overwrite=True,
    )  # fmt: skip
    raw = json.loads(spec.read_text())
    raw.update(runConfig={"name": "scores-1", "storagePath": str(files / "store")}, config={"rayInit": {"numCpus": 2}})
    spec.write_text(json.dumps(raw))
    p = plan.predict(loader.load(spec))
    assert (p.checkpoint_path, p.experiment_path) == ("models:/digits@champion", None)
    assert p.data_paths == ["s3://bucket/rows/", str(files / "specs" / "rows" / "a.csv")]
    assert (p.output_path, p.output_format, p.features) == ("s3://bucket/out", "json", ["x"])
    assert (p.batch_size, p.on_bad_rows, p.probabilities, p.overwrite) == (64, "skip", True, True)
    assert (p.name, p.storage_path, p.run_path) == ("scores-1", str(files / "store"), str(files / "store" / "scores-1"))
    assert p.ray_init == {"numCpus": 2}


def test_a_stored_predict_spec_names_the_same_files_from_anywhere(files: Path) -> None:
    loaded = loader.load(write(files, predictorPath="predictor.py:Predictor"))
    stored = paths.absolute_spec(loaded.raw, loaded.base_dirs)["predictConfig"]
    specs = files / "specs"
    assert stored["experimentPath"] == str(specs / "exp") and stored["data"]["paths"] == str(specs / "rows" / "*.csv")
    assert stored["predictorPath"] == f"{specs / 'predictor.py'}:Predictor"
    assert stored["output"]["path"] == str(files / "cwd" / "scores")
    assert paths.code_files(paths.absolute_spec(loaded.raw, loaded.base_dirs)) == [specs / "predictor.py"]


def test_an_unnamed_predict_run_is_named_before_its_log_file(files: Path) -> None:
    named = experiment.name_unnamed(loader.load(write(files)))
    assert (named.spec.run_config.name or "").startswith("raydt-predict-")
    assert plan.predict(named).name == named.spec.run_config.name


def test_the_result_model_takes_a_predict_run_s_keys() -> None:
    doc = {
        "status": "success",
        "mode": "predict",
        "results": {"numTrials": 0, "completedTrials": 0, "rowsIn": 10, "rowsOut": 9, "badRows": 1,
                    "rowsPerSecond": 412.5},
        "checkpointPath": "/x/exp/checkpoint_000001",
        "output": {"path": "/x/scores", "format": "parquet", "files": ["part-0.parquet"]},
    }  # fmt: skip
    assert results.finalize(doc) == doc
    assert_seed_output(doc)
    refused = results.finalize({**doc, "output": {"path": "/x", "format": "xlsx", "files": []}})
    assert refused["error"]["code"] == "INTERNAL" and "output.format" in json.dumps(refused["error"]["details"])


def test_the_predict_runner_is_registered_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(loaded: Any, view: Any) -> dict[str, Any]:
        return {}

    module = types.ModuleType("raydt.runners.predict")
    module.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "raydt.runners.predict", module)
    assert runner("predict") is run


def test_raydt_predict_refuses_a_spec_of_another_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "train.json"
    spec.write_text(json.dumps({"mode": "train", "config": {}, "runConfig": {"storagePath": str(tmp_path / "s")}}))
    assert main(["predict", str(spec), "-q"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert_seed_output(doc)
    error = doc["error"]
    assert error["code"] == "USAGE" and "raydt predict runs specs of mode predict" in error["message"]
    assert "has mode train" in error["message"] and "raydt run SPEC" in error["hint"]
    assert not (tmp_path / "s").exists()  # refused before the run's log folder is made


def test_raydt_predict_reports_an_invalid_predict_spec_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "predict.yaml"
    spec.write_text(
        "mode: predict\nconfig: {}\npredictConfig: {data: {format: csv, paths: none.csv}, output: {path: o}}\n"
    )
    assert main(["predict", str(spec)]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "SPEC_INVALID"
    assert {i["path"] for i in error["issues"]} == {"predictConfig", "predictConfig.data.paths"}


def test_raydt_help_lists_predict_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "  predict SPEC" in out and "raydt predict examples/predict.yaml" in out


def test_the_example_validates_once_make_run_wrote_its_experiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from raydt.errors import SpecError
    from tests.conftest import ROOT

    example = ROOT / "examples" / "predict.yaml"
    monkeypatch.chdir(tmp_path)  # the example's experiment and output are relative to the current directory
    with pytest.raises(SpecError) as refused:
        loader.load(example)
    assert [i.path for i in refused.value.issues] == ["predictConfig.experimentPath"]  # only until `make run`
    (tmp_path / yaml.safe_load(example.read_text())["predictConfig"]["experimentPath"]).mkdir(parents=True)
    p = plan.predict(loader.load(example))
    assert p.data_paths == [str(ROOT / "examples" / "predict-rows.csv")]  # found beside the spec
    assert (p.keep_columns, p.output_format, p.probabilities, p.concurrency) == (["id"], "csv", True, 2)
    assert p.output_path == str(tmp_path / "raydt_results" / "digits-predictions")
