"""mode predict's spec: predictConfig's model, every validation rule (each at its path, with value and hint), the
sections a predict spec refuses, and the published schemas. No Ray."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from raydt.spec import load, schemas
from raydt.spec.waiting import WAITS
from tests.conftest import ROOT
from tests.unit.helpers import issues_by_path, spec_issues


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """An experiment folder, a checkpoint in it, rows to predict and a predictor file, under ``tmp_path``."""
    (tmp_path / "exp" / "checkpoint_000001").mkdir(parents=True)
    (tmp_path / "rows").mkdir()
    (tmp_path / "rows" / "a.csv").write_text("id,x\n1,0.5\n")
    (tmp_path / "predictor.py").write_text("class Predictor:\n    pass\n")
    return tmp_path


def predict(files: Path, **keys: Any) -> dict[str, Any]:
    """A valid predict spec, ``keys`` replacing (None: dropping) predictConfig's keys."""
    pc: dict[str, Any] = {
        "experimentPath": str(files / "exp"),
        "data": {"format": "csv", "paths": str(files / "rows" / "*.csv")},
        "output": {"path": str(files / "out")},
    }
    pc.update(keys)
    return {"mode": "predict", "config": {}, "predictConfig": {k: v for k, v in pc.items() if v is not None}}


def test_a_predict_spec_loads_with_its_defaults(files: Path) -> None:
    pc = load(predict(files)).spec.predict_config
    assert pc is not None
    assert (pc.batch_size, pc.concurrency, pc.on_bad_rows, pc.probabilities, pc.overwrite) == (
        256,
        None,
        "fail",
        False,
        False,
    )
    assert (pc.output.format, pc.keep_columns, pc.predictor_path, pc.checkpoint_path) == ("parquet", [], None, None)
    full = predict(files, experimentPath=None, checkpointPath=str(files / "exp" / "checkpoint_000001"),
                   predictorPath=f"{files / 'predictor.py'}:Predictor", keepColumns=["id"], batchSize=8,
                   concurrency=3, onBadRows="skip", probabilities=True, overwrite=True,
                   output={"path": str(files / "out"), "format": "json"})  # fmt: skip
    full["predictConfig"]["data"]["features"] = ["x"]
    pc = load(full).spec.predict_config
    assert pc is not None and (pc.concurrency, pc.on_bad_rows, pc.output.format, pc.data.features) == (
        3, "skip", "json", ["x"]
    )  # fmt: skip


def test_mode_predict_needs_predict_config_and_only_it_takes_one(files: Path) -> None:
    assert "is required when mode is 'predict'" in issues_by_path({"mode": "predict", "config": {}})["predictConfig"]
    other = {**predict(files), "mode": "train"}
    line = issues_by_path(other)["predictConfig"]
    assert "applies to mode 'predict' only" in line and "(got 'train')" in line and "set mode: predict" in line


@pytest.mark.parametrize("section", ["trainConfig", "tuneConfig", "serveConfig", "dataConfig"])
def test_the_sections_a_predict_run_would_ignore_are_refused(files: Path, section: str) -> None:
    given = {
        "trainConfig": {"framework": "xgboost"},
        "tuneConfig": {"numSamples": 2},
        "serveConfig": {"checkpointPath": str(files / "exp")},
        "dataConfig": {"train": {"format": "csv", "paths": str(files / "rows"), "label": "x"}},
    }[section]
    found = issues_by_path({**predict(files), section: given})
    assert set(found) == {section}, found
    assert "does not apply to mode 'predict'" in found[section] and f"hint: Drop {section}" in found[section]


def test_run_config_keys_a_predict_run_would_ignore_are_refused_and_the_ones_it_reads_pass(files: Path) -> None:
    run = {"name": "scores", "storagePath": str(files), "resume": "never", "checkpoint": {"numToKeep": 2}}
    found = issues_by_path({**predict(files), "runConfig": run})
    assert set(found) == {"runConfig.resume", "runConfig.checkpoint"}, found
    assert (
        "does not apply to mode 'predict'" in found["runConfig.resume"]
        and "resumes nothing" in found["runConfig.resume"]
    )
    assert load({**predict(files), "runConfig": {"name": "scores", "storagePath": str(files)}}).spec.run_config.name


def test_exactly_one_of_experiment_path_and_checkpoint_path(files: Path) -> None:
    neither = issues_by_path(predict(files, experimentPath=None))["predictConfig"]
    both = issues_by_path(predict(files, checkpointPath=str(files / "exp" / "checkpoint_000001")))["predictConfig"]
    for line in (neither, both):
        assert "needs exactly one of checkpointPath and experimentPath" in line and "hint: experimentPath" in line
    assert "['checkpointPath', 'experimentPath']" in both


def test_the_model_paths_must_be_existing_local_directories(files: Path) -> None:
    missing = issues_by_path(predict(files, experimentPath=str(files / "nope")))
    assert "must be an existing local directory" in missing["predictConfig.experimentPath"]
    assert "(got '" in missing["predictConfig.experimentPath"] and "hint:" in missing["predictConfig.experimentPath"]
    remote = issues_by_path(predict(files, experimentPath=None, checkpointPath="s3://bucket/ckpt"))
    assert "must be an existing local directory" in remote["predictConfig.checkpointPath"]
    a_file = issues_by_path(predict(files, experimentPath=str(files / "predictor.py")))
    assert "predictConfig.experimentPath" in a_file
    registered = predict(files, experimentPath=None, checkpointPath="models:/digits@champion")  # MLflow's, as serve
    assert load(registered).spec.predict_config is not None
    as_experiment = issues_by_path(predict(files, experimentPath="models:/digits@champion"))  # serve: checkpoints only
    assert "predictConfig.experimentPath" in as_experiment


def test_relative_model_and_data_paths_resolve_against_the_spec_folder(files: Path, tmp_path: Path) -> None:
    spec = files / "spec.yaml"
    spec.write_text(
        "mode: predict\nconfig: {}\npredictConfig:\n  experimentPath: exp\n  data: {format: csv, paths: rows/a.csv}\n"
        f"  output: {{path: {tmp_path / 'out'}}}\n  predictorPath: predictor.py:Predictor\n"
    )
    assert load(spec).spec.mode == "predict"


def test_the_predictor_path_is_checked_as_serve_checks_it(files: Path) -> None:
    no_function = issues_by_path(predict(files, predictorPath="nofunction"))
    assert (
        "predictConfig.predictorPath" in no_function
        and "(got 'nofunction')" in no_function["predictConfig.predictorPath"]
    )
    missing = issues_by_path(predict(files, predictorPath="missing.py:Predictor"))["predictConfig.predictorPath"]
    assert "file not found" in missing and "hint:" in missing


def test_data_paths_are_checked_as_data_configs_and_a_label_is_refused(files: Path) -> None:
    nothing = predict(files, data={"format": "csv", "paths": [str(files / "none.csv"), str(files / "rows" / "*.txt")]})
    lines = [str(i) for i in spec_issues(nothing) if i.path == "predictConfig.data.paths"]
    assert any("no such file or folder" in line for line in lines)
    assert any("pattern matches no file" in line for line in lines)
    assert load(predict(files, data={"format": "parquet", "paths": "s3://bucket/rows/"})).spec.mode == "predict"
    labelled = predict(files, data={"format": "csv", "paths": str(files / "rows"), "label": "y"})
    line = issues_by_path(labelled)["predictConfig.data.label"]
    assert "does not apply to mode 'predict'" in line and "(got 'y')" in line and "Drop it" in line


def test_keep_columns_are_named_once_and_never_as_a_written_column(files: Path) -> None:
    repeated = issues_by_path(predict(files, keepColumns=["id", "x", "id"]))["predictConfig.keepColumns"]
    assert "must name each column once" in repeated and "(got ['id'])" in repeated
    written = issues_by_path(predict(files, keepColumns=["id", "prediction", "probabilities"]))
    assert "is the name of a column the run writes" in written["predictConfig.keepColumns[1]"]
    assert "predictConfig.keepColumns[2]" in written
    empty = issues_by_path(predict(files, keepColumns=["id", ""]))
    assert "predictConfig.keepColumns.1" in empty


def test_an_existing_output_is_refused_unless_overwrite(files: Path) -> None:
    (files / "out").mkdir()
    line = issues_by_path(predict(files))["predictConfig.output.path"]
    assert "already exists" in line and "predictConfig.overwrite: true" in line
    assert load(predict(files, overwrite=True)).spec.predict_config is not None
    holds = predict(files, overwrite=True, output={"path": str(files / "rows")})  # the input's own folder
    assert "holds what the run reads" in issues_by_path(holds)["predictConfig.output.path"]
    model = predict(files, overwrite=True, output={"path": str(files)})  # above the experiment and the data
    assert "holds what the run reads" in issues_by_path(model)["predictConfig.output.path"]
    assert load(predict(files, output={"path": "s3://bucket/out"})).spec.mode == "predict"  # the run checks URIs


def test_an_output_path_relative_to_the_current_directory(files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(files)
    (files / "scores").mkdir()
    assert "predictConfig.output.path" in issues_by_path(predict(files, output={"path": "scores"}))
    assert load(predict(files, output={"path": "new-scores"})).spec.mode == "predict"


@pytest.mark.parametrize(
    ("keys", "path"),
    [
        ({"batchSize": 0}, "predictConfig.batchSize"),
        ({"concurrency": 0}, "predictConfig.concurrency"),
        ({"onBadRows": "ignore"}, "predictConfig.onBadRows"),
        ({"probabilities": "yes"}, "predictConfig.probabilities"),
        ({"output": {"path": "x", "format": "xlsx"}}, "predictConfig.output.format"),
        ({"output": {"format": "csv"}}, "predictConfig.output.path"),
        ({"data": None}, "predictConfig.data"),
        ({"threads": 2}, "predictConfig.threads"),
    ],
)
def test_types_and_bounds_are_refused_at_their_path(files: Path, keys: dict[str, Any], path: str) -> None:
    assert path in issues_by_path(predict(files, **keys))


def test_a_refused_value_makes_the_checks_that_read_it_wait(files: Path) -> None:
    empty = issues_by_path(predict(files, experimentPath=None, checkpointPath=""))  # refused by its type, dropped
    assert "predictConfig.checkpointPath" in empty and "exactly one" not in "\n".join(empty.values())
    (files / "out").mkdir()
    broken = issues_by_path(predict(files, overwrite="yes"))  # whether the output may be replaced waits for it
    assert "already exists" not in broken.get("predictConfig.output.path", "")
    assert (
        WAITS in broken["predictConfig.overwrite"] and "predictConfig.output.path" in broken["predictConfig.overwrite"]
    )


def test_every_predict_issue_names_its_path_rule_value_and_hint(files: Path) -> None:
    (files / "out").mkdir()
    spec = predict(files, experimentPath=str(files / "gone"), keepColumns=["id", "id"], predictorPath="gone.py:P")
    spec["predictConfig"]["data"]["label"] = "y"
    spec["trainConfig"] = {}
    issues = spec_issues(spec)
    assert {i.path for i in issues} == {
        "trainConfig", "predictConfig.experimentPath", "predictConfig.predictorPath", "predictConfig.data.label",
        "predictConfig.keepColumns", "predictConfig.output.path",
    }  # fmt: skip
    assert all(i.rule and i.hint and i.value is not None for i in issues), issues


def test_the_schemas_publish_mode_predict_its_section_and_its_result_keys() -> None:
    given = schemas.input_schema()
    assert "predict" in given["properties"]["mode"]["enum"] and "predictConfig" in given["properties"]
    section = given["$defs"]["PredictConfig"]["properties"]
    assert set(section) == {"experimentPath", "checkpointPath", "predictorPath", "data", "keepColumns", "output",
                            "batchSize", "concurrency", "onBadRows", "probabilities", "overwrite",
                            "generation"}  # fmt: skip
    assert all(prop.get("description") for prop in section.values())
    out = schemas.output_schema()
    assert "predict" in out["properties"]["mode"]["enum"] and "output" in out["properties"]
    results = out["properties"]["results"]["properties"]  # the output schema is inlined: no $defs
    assert {"rowsIn", "rowsOut", "badRows", "rowsPerSecond"} <= set(results)
    assert all(results[key]["description"].startswith("mode predict: ") for key in ("rowsIn", "badRows"))
    assert set(out["properties"]["output"]["properties"]) == {"path", "format", "files"}


def test_validating_a_predict_spec_imports_no_ray(files: Path) -> None:
    import json

    spec = files / "predict.json"
    spec.write_text(json.dumps(predict(files)))
    code = (
        "import sys\nfrom raydt.cli import main\n"
        f"assert main(['validate', {str(spec)!r}]) == 0\n"
        "heavy = sorted(m for m in ('ray', 'torch', 'pyarrow') if m in sys.modules)\nassert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr + proc.stdout
