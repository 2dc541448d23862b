"""Each runner's result, built from fakes (no Ray), passes through the result model; the API validates at its edge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from raydt import api, plan, results
from raydt.errors import MetricNotReportedError, RunError
from raydt.runners import cluster, serve
from raydt.runners.train import Outcome, result
from raydt.spec import loader
from tests.conftest import assert_seed_output

STATUS = {
    "numNodes": 1,
    "totalCpu": 2.0,
    "totalGpu": 0.0,
    "availableCpu": 2.0,
    "availableGpu": 0.0,
    "totalMemoryBytes": 4_000_000_000,
    "rayVersion": "2.60.0",
    "nodes": [{"nodeId": "n", "address": "127.0.0.1", "isHead": True, "cpu": 2.0, "gpu": 0.0, "customResources": {}}],
    "autoscaler": None,
}


def train_plan(tmp_path: Path, **config: Any) -> plan.TrainPlan:
    spec = {"mode": "train", "config": config, "runConfig": {"storagePath": str(tmp_path), "name": "run"}}
    return plan.train(loader.load(spec))


def report(tmp_path: Path, loss: float, epoch: int, checkpoint: bool = True) -> dict[str, Any]:
    path = tmp_path / "run" / f"checkpoint_{epoch:06d}"
    if checkpoint:
        path.mkdir(parents=True)
    return {"metrics": {"val_loss": loss, "epoch": epoch}, "checkpoint": str(path) if checkpoint else None}


def checked(out: dict[str, Any]) -> dict[str, Any]:
    assert results.problems(out) == []
    assert_seed_output(out)
    return out


def test_a_train_result_is_the_best_report_with_its_checkpoint(tmp_path: Path) -> None:
    p = train_plan(tmp_path, numWorkers=2)
    history = [report(tmp_path, 0.5, 1), report(tmp_path, 0.2, 2), report(tmp_path, 0.3, 3)]
    died = {"event": "worker_error", "errors": {1: "ActorDiedError: the actor died"}}
    out = checked(
        result(p, Outcome(history, [died], str(tmp_path / "run"), 7.12345, history[-1]["checkpoint"]), STATUS)
    )
    assert out["status"] == "success" and out["checkpointPath"] == history[1]["checkpoint"]
    r = out["results"]
    assert (r["bestMetric"], r["bestIteration"], r["iterations"], r["numTrials"], r["completedTrials"]) == (
        0.2,
        2,
        3,
        1,
        1,
    )
    assert r["bestConfig"] == p.loop_config and r["finalMetrics"] == {"val_loss": 0.3, "epoch": 3}
    assert r["retries"] == [{"code": "WORKER_DIED", "error": "rank 1: ActorDiedError: the actor died"}]
    assert (out["restarts"], out["workerFailures"], out["numWorkers"], out["trainingTime"]) == (1, 1, 2, 7.123)
    assert "warnings" not in out and "elasticWorkers" not in out


def test_an_interrupted_elastic_run_without_a_checkpoint_is_partial_and_says_why(tmp_path: Path) -> None:
    p = train_plan(tmp_path, numWorkers={"min": 1, "max": 2})
    history = [report(tmp_path, 0.5, 1, checkpoint=False)]
    out = checked(result(p, Outcome(history, [], p.experiment_path, 1.0, None, interrupted=True), STATUS))
    assert out["status"] == "partial" and out["interrupted"] is True and out["results"]["completedTrials"] == 0
    assert out["elasticWorkers"] == {"min": 1, "max": 2} and "checkpointPath" not in out
    assert out["warnings"][0].startswith("interrupted (Ctrl-C): best result so far. Continue it with: raydt resume")
    assert out["warnings"][1].startswith("the trainer never saved a checkpoint")


def test_a_train_run_without_its_metric_raises_with_where_things_are(tmp_path: Path) -> None:
    p = train_plan(tmp_path)
    history = [{"metrics": {"loss": 1.0}, "checkpoint": None}]
    with pytest.raises(MetricNotReportedError) as caught:
        result(p, Outcome(history, [], p.experiment_path, 1.0, None), STATUS)
    assert caught.value.details == {"experimentPath": p.experiment_path, "lastCheckpointPath": None}
    with pytest.raises(RunError) as stopped:
        result(p, Outcome([], [], p.experiment_path, 1.0, None, interrupted=True), STATUS)
    assert stopped.value.code == "INTERRUPTED"
    nan = [{"metrics": {"val_loss": float("nan")}, "checkpoint": None}]
    with pytest.raises(RunError) as diverged:
        result(p, Outcome(nan, [], p.experiment_path, 1.0, None), STATUS)
    assert diverged.value.code == "NAN_METRIC"


def test_a_cluster_result() -> None:
    out = checked(cluster.result({**STATUS, "address": "embedded"}))
    assert out == {
        "status": "success",
        "results": {"numTrials": 0, "completedTrials": 0},
        "clusterStatus": {**STATUS, "address": "embedded"},
        "mode": "cluster",
    }


OPTS = {"numReplicas": 1, "cpu": 1, "gpu": 0, "maxBatchSize": 8, "authToken": "secret"}


def test_a_serve_result_on_its_own_and_after_a_train_run(tmp_path: Path) -> None:
    base = {"status": "success", "results": results.empty_results(), "mode": "serve"}
    alone = checked(serve.served(base, "/ckpt", STATUS, "http://127.0.0.1:8000", OPTS, []))
    assert alone["serve"]["resourcesPerReplica"] == {"CPU": 1.0, "GPU": 0.0} and alone["serve"]["auth"] is True
    assert alone["serve"]["predict"] == "http://127.0.0.1:8000/predict" and "warnings" not in alone
    p = train_plan(tmp_path)
    trained = result(p, Outcome([report(tmp_path, 0.1, 1)], [], p.experiment_path, 1.0, None), STATUS)
    trained["warnings"] = ["from the run"]
    ranged = {**OPTS, "numReplicas": {"min": 1, "max": 2, "targetOngoingRequests": 2.0}}
    then = checked(serve.served(trained, "/ckpt", STATUS, "http://h:1", ranged, ["serving on 0.0.0.0"]))
    assert then["mode"] == "train" and then["results"]["bestMetric"] == 0.1
    assert then["warnings"] == ["from the run", "serving on 0.0.0.0"]


def test_the_api_validates_what_a_runner_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    import raydt.runners

    def leaky(loaded: Any, view: Any) -> dict[str, Any]:
        return {"status": "success", "results": {"numTrials": 0, "completedTrials": 0}, "mode": "cluster", "extra": 1}

    monkeypatch.setattr(raydt.runners, "runner", lambda mode, handoff=None: leaky)
    out, code = api.execute({"mode": "cluster", "config": {}})
    assert code == 1 and out["status"] == "error" and out["error"]["code"] == "INTERNAL"
    assert out["error"]["details"]["problems"] == ["extra: Extra inputs are not permitted"]
    monkeypatch.setattr(raydt.runners, "runner", lambda mode, handoff=None: lambda loaded, view: cluster.result(STATUS))
    out, code = api.execute({"mode": "cluster", "config": {}})
    assert code == 0 and out["clusterStatus"] == STATUS


def test_an_invalid_spec_is_an_error_result_through_the_model() -> None:
    out, code = api.execute({"mode": "train", "config": {"numWorkers": 0}})
    assert code == 2 and checked(out)["error"]["code"] == "SPEC_INVALID"
    assert out["error"]["issues"][0]["path"] == "config.numWorkers"


def test_early_stopping_is_the_end_reason_of_a_train_run_and_the_live_view_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 26 item 12: a run that early stopping ended at epoch 10 of 30 looked like any finished run."""
    import io

    from raydt.progress import ProgressView
    from raydt.runners import train

    examples = Path(__file__).resolve().parents[2] / "examples" / "plain-pytorch"
    tc = {"model": f"{examples}/models.py:MLP", "data": f"{examples}/data.py:digits_flat", "epochs": 30,
          "trainLoopConfig": {"patience": 3}}  # fmt: skip
    spec = {
        "mode": "train",
        "config": {},
        "trainConfig": tc,
        "runConfig": {"storagePath": str(tmp_path), "name": "run"},
    }
    p = plan.train(loader.load(spec))
    history = [report(tmp_path, 1.0 / min(e, 7), e) for e in range(1, 11)]  # best at 7, then 3 epochs no better
    stopped = Outcome(history, [], p.experiment_path, 3.0, history[-1]["checkpoint"])
    r = checked(result(p, stopped, STATUS))["results"]
    assert (r["endReason"], r["plannedIterations"], r["iterations"]) == ("EARLY_STOPPED", 30, 10)
    every = Outcome(history[:3], [], p.experiment_path, 1.0, None)
    p3 = plan.train(loader.load({**spec, "trainConfig": {**tc, "epochs": 3}}))
    assert checked(result(p3, every, STATUS))["results"]["endReason"] == "COMPLETED"
    cut = Outcome(history[:2], [], p.experiment_path, 1.0, None, interrupted=True)
    assert checked(result(p, cut, STATUS))["results"]["endReason"] == "INTERRUPTED"
    builtin = train_plan(tmp_path)
    own = checked(result(builtin, Outcome(history[:1], [], builtin.experiment_path, 1.0, None), STATUS))["results"]
    assert own["endReason"] == "COMPLETED" and own["plannedIterations"] == 5  # the built-in trainer's epochs

    lines = io.StringIO()
    monkeypatch.setattr(train, "fit", lambda *args: stopped)
    train.TrainMode(p, ProgressView(lines)).fit(p, None, STATUS)
    assert "early stopping ended the run at epoch 10 of 30: val_loss did not improve for 3 epoch(s)" in lines.getvalue()


def test_a_max_metric_picks_the_highest_report_and_its_checkpoint(tmp_path: Path) -> None:
    """(Was a slow test: a real run only supplied the reports.) ``metricMode: max`` picks the highest value."""
    spec = {
        "mode": "train",
        "config": {},
        "trainConfig": {"metric": "val_loss", "metricMode": "max"},
        "runConfig": {"storagePath": str(tmp_path), "name": "run"},
    }
    p = plan.train(loader.load(spec))
    history = [report(tmp_path, 0.5, 1), report(tmp_path, 0.9, 2), report(tmp_path, 0.3, 3)]
    out = checked(result(p, Outcome(history, [], str(tmp_path / "run"), 1.0, history[-1]["checkpoint"]), STATUS))
    r = out["results"]
    assert (r["bestMetric"], r["bestIteration"], out["checkpointPath"]) == (0.9, 2, history[1]["checkpoint"])
    assert r["bestMetric"] >= r["finalMetrics"]["val_loss"]


def test_a_controller_killed_by_rays_memory_monitor_is_out_of_memory_not_internal(tmp_path: Path) -> None:
    """``trainer.fit()`` raises Ray's own OutOfMemoryError when the memory monitor kills the run's controller
    (seen in the e2e tier): the run's error is OUT_OF_MEMORY with its hint, not INTERNAL."""
    from ray.exceptions import OutOfMemoryError

    from raydt.runners.train import classify

    exc = OutOfMemoryError("4 worker(s) were killed due to the node running low on memory.\nObject store: ...")
    err = classify(exc, [], train_plan(tmp_path))
    assert err.code == "OUT_OF_MEMORY" and "running low on memory" in err.message, err.to_dict()
    assert "memoryGb" in (err.hint or "")
