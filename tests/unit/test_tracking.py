"""runConfig.tracking without Ray: the spec and plan, the preflight's errors (a real closed port, a bad scheme), and
the train tracker against a real local sqlite store fed with relay records (each step logged once across a
restart and a resume), the sink's warning when the store fails, models:/ URIs."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import raydt
from raydt import plan
from raydt.errors import RunError, SpecError
from raydt.spec import loader
from raydt.tracking import models, preflight
from tests.conftest import ROOT

pytest.importorskip("mlflow")


def spec(tmp_path: Path, **mlflow: Any) -> dict[str, Any]:
    return {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {"framework": "pytorch", "epochs": 2},
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": "t", "tracking": {"mlflow": mlflow}},
    }


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_plan_reads_the_spec_then_mlflow_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    p = plan.train(loader.load(spec(tmp_path, tags={"team": "x"}, registerModel="iris")))
    assert p.tracking == plan.MlflowPlan("http://127.0.0.1:1", "from-env", "t", {"team": "x"}, "iris", "champion")
    given = spec(tmp_path, trackingUri="sqlite:////tmp/x.db", experimentName="e", runName="r")
    assert plan.train(loader.load(given)).tracking == plan.MlflowPlan("sqlite:////tmp/x.db", "e", "r", {})
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert plan.train(loader.load(spec(tmp_path))).tracking.tracking_uri is None  # type: ignore[union-attr]
    none = spec(tmp_path)
    del none["runConfig"]["tracking"]
    assert plan.train(loader.load(none)).tracking is None


def test_spec_refuses_unknown_keys_and_bad_model_names(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        loader.load(spec(tmp_path, trackingUrl="http://x", registerModel="no spaces"))
    paths = {i.path for i in err.value.issues}
    assert "runConfig.tracking.mlflow.trackingUrl" in paths and "runConfig.tracking.mlflow.registerModel" in paths


def test_schema_documents_tracking_without_importing_mlflow() -> None:
    code = (
        "import json, sys, raydt.cli\n"
        "from raydt.spec.schemas import input_schema\n"
        "from raydt.results.schema import output_schema\n"
        "text = json.dumps(input_schema()) + json.dumps(output_schema())\n"
        "assert 'registerModel' in text and 'localStore' in text and 'nestedRuns' in text\n"
        "from raydt.spec import loader\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'ray')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_unreachable_server_fails_before_ray_starts(tmp_path: Path) -> None:
    port = closed_port()
    out = raydt.run(spec(tmp_path, trackingUri=f"http://127.0.0.1:{port}"))
    assert out["status"] == "error" and out["error"]["code"] == "TRACKING_UNREACHABLE", out
    assert f"127.0.0.1:{port}" in out["error"]["message"] and "mlflow server" in out["error"]["hint"]
    assert "clusterStatus" not in out  # Ray never started
    assert not (tmp_path / "results" / "t").exists()


def test_bad_uri_is_a_spec_error_at_its_path(tmp_path: Path) -> None:
    out = raydt.run(spec(tmp_path, trackingUri="ftp://example/x"))
    assert out["status"] == "error" and out["error"]["code"] == "SPEC_INVALID", out
    issue = out["error"]["issues"][0]
    assert issue["path"] == "runConfig.tracking.mlflow.trackingUri" and "scheme 'ftp'" in issue["rule"]


def test_preflight_passes_for_a_sqlite_store(tmp_path: Path) -> None:
    p = plan.train(loader.load(spec(tmp_path, trackingUri=f"sqlite:///{tmp_path}/m.db", registerModel="m")))
    preflight.check(p)
    assert (tmp_path / "m.db").is_file()


def records(epochs: list[int]) -> list[dict[str, Any]]:
    return [
        {"metrics": {"val_loss": 1.0 / e, "epoch": e, "note": "x"}, "checkpoint": None, "time": 1e9 + e} for e in epochs
    ]


class Relay:
    """What the tracker reads from raydt's relay: the history of reports, as a list."""

    def __init__(self, history: list[dict[str, Any]]) -> None:
        self.history = history


def test_train_tracker_logs_each_epoch_once_across_restart_and_resume(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    from raydt.tracking.train import TrainTracker

    p = plan.train(loader.load(spec(tmp_path)))
    first = TrainTracker(p)
    first.start()
    first.follow(Relay(records([1, 2, 3, 2, 3])))  # a restart from epoch 1's checkpoint re-reports 2 and 3
    out = first.finish({"status": "partial", "results": {}})
    run_id = out["tracking"]["mlflow"]["runId"]
    assert out["tracking"]["mlflow"]["localStore"] == str(tmp_path / "results" / "t" / "mlflow.db")

    again = TrainTracker(p)  # raydt resume: the same experiment directory
    again.start()
    assert again.run_id == run_id and again.logged_upto == 3
    again.follow(Relay(records([3, 4])))
    out = again.finish({"status": "success", "results": {}})
    assert "warnings" not in out

    uri = out["tracking"]["mlflow"]["trackingUri"]
    client = MlflowClient(uri)
    history = client.get_metric_history(run_id, "val_loss")
    assert [(m.step, m.value) for m in history] == [(e, 1.0 / e) for e in (1, 2, 3, 4)]
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and "note" not in run.data.metrics
    assert run.data.params["epochs"] == "2" and run.data.params["raydt.metric"] == "val_loss"
    assert len(client.search_runs([out["tracking"]["mlflow"]["experimentId"]])) == 1
    state = json.loads((tmp_path / "results" / "t" / "raydt_mlflow.json").read_text())
    assert state["runId"] == run_id


def test_a_store_that_fails_mid_run_is_a_warning(tmp_path: Path) -> None:
    from raydt.tracking.train import TrainTracker

    p = plan.train(loader.load(spec(tmp_path)))
    tracker = TrainTracker(p)
    tracker.start()
    tracker.follow(Relay(records([1])))
    tracker.sink.wait()
    (tmp_path / "results" / "t" / "mlflow.db").unlink()  # the store is gone
    (tmp_path / "results" / "t" / "mlflow.db").mkdir()  # ... and cannot be created again
    tracker.log_report(records([2])[0])
    out = tracker.finish({"status": "success", "results": {}})
    (warning,) = out["warnings"]
    assert "logging stopped after an error" in warning and "metric report" in warning and "unaffected" in warning


def test_model_uris() -> None:
    assert models.parse("models:/iris@champion") == ("iris", "champion", None)
    assert models.parse("models:/iris/3") == ("iris", None, "3")
    with pytest.raises(SpecError, match="models:/NAME@ALIAS"):
        models.parse("models:/iris")


def test_serve_spec_accepts_a_registered_model(tmp_path: Path) -> None:
    served = {"mode": "serve", "config": {}, "serveConfig": {"checkpointPath": "models:/iris@champion"}}
    loaded = loader.load(served)
    assert plan.serve(loaded).checkpoint_path == "models:/iris@champion"


def test_fetching_an_unknown_model_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunError) as err:
        models.fetch("models:/nothing@champion", f"sqlite:///{tmp_path}/m.db")
    assert getattr(err.value, "code", "") == "TRACKING_UNAVAILABLE" and "nothing" in str(err.value)
