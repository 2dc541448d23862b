"""A tracked train run that loses a worker, is stopped with Ctrl-C and resumed (`raydt resume`) is one MLflow run with
each epoch logged once, in raydt's default local store (sqlite in the experiment directory). Runs the CLI as its own
process with its own Ray, in its own process group, killed by pid at the end (as test_fault_tolerance does)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli
from tests.integration.test_fault_tolerance import Run, lines, runs, wait_for

pytestmark = pytest.mark.slow
pytest.importorskip("mlflow")
__all__ = ["runs"]  # the fixture, shared with test_fault_tolerance


def test_killed_worker_then_ctrl_c_then_resume_log_each_epoch_once(
    tmp_path: Path, runs: list[Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    log = tmp_path / "epochs.log"
    spec = {
        "mode": "train",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 0.5}},
        "trainConfig": {
            "trainerPath": f"{FIXTURES}/trainers.py:killable",
            "trainLoopConfig": {"log": str(log), "sleep": 1.0},
            "epochs": 6,
            "metric": "loss",
        },
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": "ft", "tracking": {"mlflow": {}}},
    }
    run = Run(tmp_path, spec)
    runs.append(run)
    wait_for(lambda: run.saw("epoch 2", "[ckpt]"))
    pid = int([ln for ln in lines(log) if ln.startswith("start")][-1].split()[2])
    os.kill(pid, signal.SIGKILL)  # the rank-0 training worker, mid-epoch: the worker group restarts
    wait_for(lambda: run.saw("epoch 4", "[ckpt]"))
    run.proc.send_signal(signal.SIGINT)
    code, out, _ = run.finish(timeout=120)
    assert code == 3 and out["status"] == "partial" and out["restarts"] >= 1, out
    info = out["tracking"]["mlflow"]
    assert info["localStore"] == str(tmp_path / "results" / "ft" / "mlflow.db")
    assert info["trackingUri"] == f"sqlite:///{info['localStore']}"

    from mlflow import MlflowClient

    client = MlflowClient(info["trackingUri"])
    assert client.get_run(info["runId"]).info.status == "KILLED"

    res = run_cli("resume", out["experimentPath"])
    assert res.code == 0 and res.out["status"] == "success", res.out
    assert res.out["tracking"]["mlflow"]["runId"] == info["runId"]  # the same MLflow run, reopened
    run_info = client.get_run(info["runId"]).info
    assert run_info.status == "FINISHED"
    history = [(m.step, m.value) for m in client.get_metric_history(info["runId"], "loss")]
    assert history == [(e, pytest.approx(1.0 / e)) for e in range(1, 7)], history
    assert len(client.search_runs([info["experimentId"]])) == 1
