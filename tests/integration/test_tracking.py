"""runConfig.tracking.mlflow against a real MLflow tracking server (started here on 127.0.0.1: sqlite backend, local
artifacts, stopped by its pid) and one real local Ray: what MLflow's client reads back equals what the run reported."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import raydt
from tests.conftest import FIXTURES, assert_seed_output

pytestmark = pytest.mark.slow
pytest.importorskip("mlflow")


class Server:
    """``mlflow server`` in its own process group on a free loopback port."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.db = root / "backend.db"
        self.uri = f"http://127.0.0.1:{port}"
        mlflow = [sys.executable, "-c", "from mlflow.cli import cli; cli()", "server"]
        self.proc = subprocess.Popen(
            [*mlflow, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
            + ["--backend-store-uri", f"sqlite:///{self.db}", "--artifacts-destination", str(root / "artifacts")],
            stdout=subprocess.DEVNULL,
            stderr=open(root / "server.log", "w"),  # noqa: SIM115 - closed with the process
            start_new_session=True,
        )

    def ready(self, timeout: float = 60) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"mlflow server at {self.uri} did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the server's pid leads its group (uvicorn's workers too)
            self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """Two servers, started together: a lasting one, and one a test kills mid-run."""
    root = tmp_path_factory.mktemp("mlflow")
    started = [Server(root / "main"), Server(root / "doomed")]
    try:
        yield [s.ready() for s in started]
    finally:
        for s in started:
            s.stop()


def client(uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(uri, registry_uri=uri)


def steps(c: Any, run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in c.get_metric_history(run_id, key)]


def train_spec(tmp_path: Path, uri: str, **mlflow: Any) -> dict[str, Any]:
    return {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {"framework": "pytorch", "epochs": 2, "trainLoopConfig": {"hiddenSize": 8}},
        "runConfig": {
            "storagePath": str(tmp_path / "results"),
            "name": "train1",
            "tracking": {"mlflow": {"trackingUri": uri, "experimentName": "it", "tags": {"team": "qa"}, **mlflow}},
        },
    }


def test_train_run_is_logged_and_its_best_checkpoint_registered(
    shared_ray: None, servers: list[Server], tmp_path: Path
) -> None:
    uri = servers[0].uri
    out = raydt.run(train_spec(tmp_path, uri, registerModel="iris-mlp", modelAlias="best"))
    assert_seed_output(out)
    assert out["status"] == "success", out
    info = out["tracking"]["mlflow"]
    assert info["trackingUri"] == uri and "localStore" not in info and "warnings" not in out
    c = client(uri)
    run = c.get_run(info["runId"])
    assert run.info.status == "FINISHED" and run.info.run_name == "train1" and run.data.tags["team"] == "qa"
    params = run.data.params
    assert {k: params[k] for k in out["results"]["bestConfig"]} == {
        k: v if isinstance(v, str) else json.dumps(v) for k, v in out["results"]["bestConfig"].items()
    }
    # every epoch once, step = epoch; the last and the best equal the result's
    history = steps(c, run.info.run_id, "val_loss")
    assert [s for s, _ in history] == [1, 2]
    assert history[-1][1] == pytest.approx(out["results"]["finalMetrics"]["val_loss"])
    best_step = out["results"]["bestIteration"]
    assert dict(history)[best_step] == pytest.approx(out["results"]["bestMetric"])
    # artifacts: the best checkpoint's files, the spec, the result
    ckpt = sorted(os.listdir(out["checkpointPath"]))
    assert sorted(Path(a.path).name for a in c.list_artifacts(run.info.run_id, "checkpoint")) == ckpt
    names = {a.path for a in c.list_artifacts(run.info.run_id)}
    assert {"checkpoint", "raydt_spec.json", "raydt_result.json"} <= names
    # the registered version and its alias; models:/ fetches the same checkpoint back for serving
    registered = info["registeredModel"]
    assert registered == {"name": "iris-mlp", "version": 1, "alias": "best", "uri": "models:/iris-mlp@best"}
    version = c.get_model_version_by_alias("iris-mlp", "best")
    assert version.version == "1" and version.run_id == run.info.run_id
    from raydt.tracking import models

    local = models.fetch("models:/iris-mlp@best", uri)
    assert sorted(os.listdir(local)) == ckpt
    meta = "raydt_meta.json"
    assert Path(local, meta).read_text() == Path(out["checkpointPath"], meta).read_text()


def search_spec(tmp_path: Path, uri: str) -> dict[str, Any]:
    trainable = tmp_path / "trainable.py"
    trainable.write_text(
        "import os, tempfile\nfrom ray import tune\n\n"
        "def fn(config):\n"
        "    if config['lr'] >= 1.0:\n"
        "        raise RuntimeError('diverged')\n"
        "    for step in range(4):\n"
        "        with tempfile.TemporaryDirectory() as d:\n"
        "            open(os.path.join(d, 'step.txt'), 'w').write(str(step + 1))\n"
        "            score = (config['lr'] - 0.01) ** 2 + 1.0 / (step + 1)\n"
        "            tune.report({'score': score, 'step': step + 1}, checkpoint=tune.Checkpoint.from_directory(d))\n"
    )
    return {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 0.5}},
        "trainConfig": {"trainerPath": f"{trainable}:fn"},
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "grid", "values": [0.01, 0.3, 1.0, 0.001]}},
            "scheduler": "asha",
            "schedulerConfig": {"gracePeriod": 1, "maxT": 4, "reductionFactor": 2},
            "maxFailuresPerTrial": 0,
            "metric": "score",
            "mode": "min",
        },
        "runConfig": {
            "storagePath": str(tmp_path / "results"),
            "name": "search1",
            "tracking": {"mlflow": {"trackingUri": uri, "experimentName": "it-tune", "registerModel": "bowl"}},
        },
    }


def test_search_has_a_parent_run_and_a_nested_run_per_trial(
    shared_ray: None, servers: list[Server], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    uri = servers[0].uri
    out = raydt.run(search_spec(tmp_path, uri))
    assert_seed_output(out)
    assert "View run" not in capfd.readouterr().out  # MLflow's links would spoil raydt's one JSON on stdout
    assert out["status"] == "partial", out  # the lr=1.0 trial fails
    info = out["tracking"]["mlflow"]
    c = client(uri)
    parent = c.get_run(info["runId"])
    assert parent.info.status == "KILLED"  # partial: a search with a failed trial
    assert parent.data.params["raydt.scheduler"] == "asha" and parent.data.tags["raydt.bestTrialId"]
    nested = c.search_runs([info["experimentId"]], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    by_trial = {r.data.tags["raydt.trialId"]: r for r in nested}
    assert info["nestedRuns"] == len(nested) == len(out["trials"]) == 4
    for row in out["trials"]:
        run = by_trial[row["trialId"]]
        assert float(run.data.params["lr"]) == row["config"]["lr"]
        history = steps(c, run.info.run_id, "score")
        assert [s for s, _ in history] == list(range(1, row["iterations"] + 1)), row
        if history:
            assert history[-1][1] == pytest.approx(row["lastMetrics"]["score"])
        expected = {"TERMINATED": "FINISHED", "ERROR": "FAILED"}[row["status"]]
        assert run.info.status == expected and run.data.tags["raydt.status"] == row["status"]
        assert run.data.tags.get("raydt.stoppedEarly") == ("true" if row.get("stoppedEarly") else None)
        if row["status"] == "ERROR":
            assert run.data.tags["raydt.errorCode"] == row["error"]["code"] == "USER_CODE_ERROR"
    best = out["results"]["bestTrialId"]
    assert [t for t, r in by_trial.items() if r.data.tags.get("raydt.best") == "true"] == [best]
    assert info["bestRunId"] == by_trial[best].info.run_id == parent.data.tags["raydt.bestRunId"]
    assert parent.data.metrics["best_score"] == pytest.approx(out["results"]["bestMetric"])
    # a partial search registers nothing; the best trial's run holds its checkpoint
    assert "registeredModel" not in info
    assert [a.path for a in c.list_artifacts(info["bestRunId"], "checkpoint")] == ["checkpoint/step.txt"]


def test_a_server_that_dies_mid_run_never_fails_the_training(
    shared_ray: None, servers: list[Server], tmp_path: Path
) -> None:
    doomed = servers[1]
    spec = {
        "mode": "train",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 0.5}},
        "trainConfig": {
            "trainerPath": f"{FIXTURES}/trainers.py:killable",
            "trainLoopConfig": {"log": str(tmp_path / "epochs.log"), "sleep": 1.0},
            "epochs": 4,
            "metric": "loss",
        },
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": "doomed", "tracking": {"mlflow": {
            "trackingUri": doomed.uri, "registerModel": "never"}}},
    }  # fmt: skip

    def kill_after_first_epoch() -> None:
        deadline = time.monotonic() + 120
        c = client(doomed.uri)
        while time.monotonic() < deadline:
            try:
                runs = c.search_runs([e.experiment_id for e in c.search_experiments()])
                if runs and c.get_metric_history(runs[0].info.run_id, "loss"):
                    break
            except Exception:  # noqa: BLE001 - not there yet
                pass
            time.sleep(0.2)
        doomed.stop()

    killer = threading.Thread(target=kill_after_first_epoch, daemon=True)
    killer.start()
    out = raydt.run(spec)
    killer.join(timeout=10)
    assert_seed_output(out)
    assert out["status"] == "success" and out["results"]["finalMetrics"]["epoch"] == 4, out
    (warning,) = [w for w in out["warnings"] if w.startswith("MLflow")]
    assert "logging stopped after an error" in warning and "the model registration" in warning, warning
    assert "registeredModel" not in out["tracking"]["mlflow"]
    # what the dead server kept: the first epochs, never a step twice
    kept = client(f"sqlite:///{doomed.db}")
    logged = [s for s, _ in steps(kept, out["tracking"]["mlflow"]["runId"], "loss")]
    assert logged and logged == list(range(1, len(logged) + 1)) and len(logged) < 4
