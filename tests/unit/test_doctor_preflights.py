"""raydt doctor SPEC runs the checks ``raydt run`` makes before it trains (``runners.preflights``, the same code): an
MLflow server that does not answer (a real closed port), an experiment name taken by another spec, a config.rayInit
key ray.init does not take, an Optuna warm start outside the space. Doctor runs as the CLI does, with no cluster
(no address, no RAY_ADDRESS, an empty state folder): nothing starts Ray."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from raydt import plan
from raydt.errors import TrackingError
from raydt.runners import preflights
from raydt.spec import loader
from tests.conftest import free_port
from tests.unit.test_doctor import by_name, doctor


@pytest.fixture(autouse=True)
def no_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No address from the shell and no lasting cluster: doctor checks this machine only."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAYDT_STATE_DIR", str(tmp_path / "state"))


def train_spec(tmp_path: Path, **run: Any) -> dict[str, Any]:
    return {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {"framework": "pytorch", "epochs": 1},
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": "exp", **run},
    }


def run_doctor(tmp_path: Path, spec: dict[str, Any]) -> tuple[int, dict[str, dict[str, Any]], dict[str, Any]]:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    code, doc, _ = doctor(str(path), "-q")
    return code, by_name(doc), doc


def test_doctor_fails_an_mlflow_server_that_does_not_answer_as_run_does(tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    uri = f"http://127.0.0.1:{free_port()}"
    code, checks, doc = run_doctor(tmp_path, train_spec(tmp_path, tracking={"mlflow": {"trackingUri": uri}}))
    assert code == 1 and doc["error"]["code"] == "ENVIRONMENT_NOT_READY" and "tracking" in doc["error"]["message"]
    row = checks["tracking"]
    assert row["status"] == "fail" and uri in row["found"] and "mlflow server" in row["fix"], row
    assert row["found"].endswith("ConnectionRefusedError: [Errno 111] Connection refused"), row["found"]
    assert checks["experiment"]["status"] == "ok" and checks["trainer code"]["status"] == "ok"


def test_doctor_passes_what_run_would_start_and_names_each_check(tmp_path: Path) -> None:
    code, checks, _ = run_doctor(tmp_path, train_spec(tmp_path))
    assert code == 0, checks
    assert checks["experiment"]["found"].endswith("a new experiment")
    assert checks["tracking"]["found"] == "no runConfig.tracking"
    assert "rayInit" not in checks  # nothing given, nothing to check


def test_doctor_fails_an_experiment_name_taken_by_another_spec(tmp_path: Path) -> None:
    stored = train_spec(tmp_path)
    stored["trainConfig"]["epochs"] = 7
    exp = tmp_path / "results" / "exp"
    exp.mkdir(parents=True)
    (exp / "raydt_spec.json").write_text(json.dumps(stored))
    code, checks, _ = run_doctor(tmp_path, train_spec(tmp_path))
    row = checks["experiment"]
    assert code == 1 and row["status"] == "fail" and "trainConfig.epochs" in row["found"], row
    assert "runConfig.name" in row["fix"]


def test_doctor_fails_a_rayinit_key_that_ray_init_does_not_take(tmp_path: Path) -> None:
    spec = train_spec(tmp_path)
    spec["config"]["rayInit"] = {"num_cpu": 2}
    code, checks, _ = run_doctor(tmp_path, spec)
    row = checks["rayInit"]
    assert code == 1 and row["status"] == "fail" and "config.rayInit.num_cpu" in row["found"], row
    assert "num_cpus" in row["found"] + row["fix"]


def test_the_run_and_doctor_share_one_list(tmp_path: Path) -> None:
    """The run's skeleton iterates this list; a tracking server that does not answer raises the run's error."""
    pytest.importorskip("mlflow")
    spec = train_spec(tmp_path, tracking={"mlflow": {"trackingUri": f"http://127.0.0.1:{free_port()}"}})
    loaded = loader.load(spec)
    steps = preflights.training(loaded, plan.train(loaded))
    assert [s.name for s in steps] == ["experiment", "tracking", "trainer code"]
    with pytest.raises(TrackingError) as info:
        steps[1].run()
    assert info.value.code == "TRACKING_UNREACHABLE"
    assert info.value.message.endswith("does not answer: ConnectionRefusedError: [Errno 111] Connection refused")


def test_an_optuna_search_is_seeded_as_the_run_seeds_it(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    space = {"lr": {"type": "loguniform", "min": 0.001, "max": 0.1}}
    tune = {"searchAlgorithm": "optuna", "numSamples": 2, "searchSpace": space, "pointsToEvaluate": [{"lr": 0.01}]}
    spec = {**train_spec(tmp_path), "mode": "tune", "tuneConfig": tune}
    (step,) = preflights.search(plan.tune(loader.load(spec)))
    assert step.name == "search seed" and step.run().startswith("optuna: the study is seeded")
