"""mode: train on a real local Ray: the built-in trainer through the CLI, user trainers through the API."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import raydt
from tests.conftest import FIXTURES, assert_seed_output, free_port, run_cli

pytestmark = pytest.mark.slow


def test_builtin_pytorch_trainer_on_two_workers_via_cli(tmp_path: Path) -> None:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 2, "useGpu": False, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"framework": "pytorch", "epochs": 3},
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": "builtin"},
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    res = run_cli("run", str(tmp_path / "spec.json"))
    out = res.out
    assert res.code == 0, out
    assert out["status"] == "success"
    r = out["results"]
    assert (r["numTrials"], r["completedTrials"], r["iterations"]) == (1, 1, 3)
    assert r["metric"] == "val_loss" and r["bestMetric"] == r["bestMetrics"]["val_loss"]
    assert r["bestConfig"] == {"lr": 0.01, "batchSize": 32, "epochs": 3, "hiddenSize": 64}
    assert r["finalMetrics"]["val_accuracy"] > 0.9  # it really learns
    assert out["clusterStatus"]["numNodes"] == 1 and out["clusterStatus"]["totalCpu"] >= 2
    assert out["numWorkers"] == 2 and out["resourcesPerWorker"] == {"CPU": 1.0}
    assert out["experimentPath"] == str(tmp_path / "results" / "builtin")
    assert 0 < out["trainingTime"] < 600

    # The checkpoint is a real directory that reloads into a model with the reported accuracy.
    ckpt = Path(out["checkpointPath"])
    assert ckpt.is_dir() and str(ckpt).startswith(out["experimentPath"])
    meta = json.loads((ckpt / "raydt_meta.json").read_text())
    accuracy = _reload_accuracy(ckpt, meta)
    assert accuracy == pytest.approx(r["bestMetrics"]["val_accuracy"], abs=1e-6)

    # Progress went to stderr as a live view; Ray's own output went to the log file, not the terminal.
    assert "epoch 3/3" in res.stderr and "val_accuracy=" in res.stderr
    assert "RayTrainWorker" not in res.stderr
    assert "RayTrainWorker" in Path(out["logFile"]).read_text()


def _reload_accuracy(ckpt: Path, meta: dict[str, Any]) -> float:
    import numpy as np
    import torch

    from raydt.frameworks.data import digits
    from raydt.frameworks.pytorch.trainer import MODEL_FILE, build_model

    model = build_model(meta["inputSize"], meta["hiddenSize"], meta["numClasses"])
    model.load_state_dict(torch.load(ckpt / MODEL_FILE, weights_only=False)["model"])
    data = digits()
    std = meta["preprocessing"]["standardize"]
    assert np.allclose(std["mean"], data.mean)  # preprocessing travels with the checkpoint
    with torch.no_grad():
        pred = model(torch.from_numpy(data.x_val)).argmax(dim=1).numpy()
    return float((pred == data.y_val).mean())


def _train_spec(tmp_path: Path, trainer: str, **train: Any) -> dict[str, Any]:
    return {
        "mode": "train",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"trainerPath": f"{FIXTURES}/trainers.py:{trainer}", **train},
        "runConfig": {"storagePath": str(tmp_path)},
    }


def test_user_file_trainer_reports_and_checkpoints(shared_ray: None, tmp_path: Path) -> None:
    spec = _train_spec(
        tmp_path,
        "report_and_checkpoint",
        metric="loss",
        metricMode="min",
        trainLoopConfig={"lr": 0.05},
        epochs=4,
    )
    out = raydt.run(spec)
    assert_seed_output(out)
    assert out["status"] == "success", out
    r = out["results"]
    assert r["bestConfig"] == {"lr": 0.05, "epochs": 4}
    assert r["iterations"] == 4 and r["finalMetrics"]["world_size"] == 2
    assert r["bestMetric"] == r["bestMetrics"]["loss"]
    assert r["bestMetric"] <= r["finalMetrics"]["loss"]
    ckpt = Path(out["checkpointPath"])
    assert (ckpt / "state.pt").is_file()
    # numToKeep (default 2) bounds what stays on disk: not all 4 epochs' checkpoints
    # (Ray may hold the newest one beyond the best two while it is being registered).
    kept = [p for p in Path(out["experimentPath"]).iterdir() if p.is_dir() and p.name.startswith("checkpoint_")]
    assert 2 <= len(kept) < 4 and ckpt in kept


def test_metric_never_reported_lists_what_was_reported(shared_ray: None, tmp_path: Path) -> None:
    spec = _train_spec(tmp_path, "no_args")
    spec["config"]["numWorkers"] = 1
    out = raydt.run(spec)
    assert out["status"] == "error"
    assert out["error"]["code"] == "METRIC_NOT_REPORTED"
    assert "'val_loss' was never reported" in out["error"]["message"]
    assert "loss" in out["error"]["message"].split("reported:")[1]


def test_gpu_request_on_cpu_only_cluster_fails_within_seconds(shared_ray: None, tmp_path: Path) -> None:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 4, "useGpu": True, "resourcesPerWorker": {"cpu": 2, "gpu": 1}},
        "runConfig": {"storagePath": str(tmp_path)},
    }
    start = time.monotonic()
    out = raydt.run(spec)
    assert time.monotonic() - start < 10
    assert out["error"]["code"] == "INFEASIBLE_RESOURCES"
    assert "needs 4 GPU" in out["error"]["message"] and "useGpu=false" in out["error"]["hint"]


@pytest.mark.parametrize(
    ("framework", "epochs", "check"),
    [
        # XGBoost trains, tunes and serves raw rows on data in test_data.py; LightGBM in test_lightgbm.py
        ("tensorflow", 2, lambda m: m["val_accuracy"] > 0.9),
    ],
)
def test_other_frameworks_train_on_two_workers(
    shared_ray: None, tmp_path: Path, framework: str, epochs: int, check: Any
) -> None:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"framework": framework, "epochs": epochs},
        "runConfig": {"storagePath": str(tmp_path)},
    }
    out = raydt.run(spec)
    assert_seed_output(out)
    assert out["status"] == "success", out
    assert out["results"]["iterations"] == epochs
    assert check(out["results"]["finalMetrics"])
    assert Path(out["checkpointPath"], "raydt_meta.json").is_file()

    # the serving predictor (raw rows in, saved preprocessing applied) = the model loaded directly
    from raydt.serving.predictors import BuiltinPredictor

    predictor = BuiltinPredictor(out["checkpointPath"])
    raw, labels = _raw_data(framework)
    got = predictor.predict(predictor.rows(raw[:120].tolist()), probabilities=True)
    expected = _direct_probabilities(framework, out["checkpointPath"], raw[:120])
    assert got["predictions"] == expected.argmax(axis=1).tolist()
    assert np.allclose(got["probabilities"], expected, atol=1e-5)
    assert np.mean(np.array(got["predictions"]) == labels[:120]) > 0.85

    # and over HTTP: Ray Serve in this session's Ray (the API returns once the endpoint answers)
    from ray import serve

    port = free_port()
    served = raydt.run(
        {"mode": "serve", "config": {}, "serveConfig": {"checkpointPath": out["checkpointPath"], "port": port}}
    )
    try:
        assert served["status"] == "success" and served["serve"]["replicas"] == {"RUNNING": 1}, served
        body = json.dumps({"instances": raw[:120].tolist(), "probabilities": True}).encode()
        with urllib.request.urlopen(urllib.request.Request(served["serve"]["predict"], data=body), timeout=60) as r:
            answer = json.loads(r.read())
        assert answer["predictions"] == got["predictions"]
        assert np.allclose(answer["probabilities"], expected, atol=1e-5)
        with urllib.request.urlopen(served["serve"]["metadata"], timeout=60) as r:
            assert json.loads(r.read())["framework"] == framework
    finally:
        serve.shutdown()


def _raw_data(framework: str) -> tuple[Any, Any]:
    from sklearn.datasets import load_breast_cancer, load_digits

    return (load_breast_cancer if framework == "xgboost" else load_digits)(return_X_y=True)


def _direct_probabilities(framework: str, checkpoint: str, raw: Any) -> Any:
    meta = json.loads(Path(checkpoint, "raydt_meta.json").read_text())
    scale = meta["preprocessing"]["standardize"]
    # in float32, as in training: a tree's split can flip on the last bit of a float64 computation
    x = (raw.astype(np.float32) - np.float32(scale["mean"])) / np.float32(scale["std"])
    if framework == "xgboost":
        import xgboost
        from ray.train import Checkpoint
        from ray.train.xgboost import RayTrainReportCallback

        booster = RayTrainReportCallback.get_model(Checkpoint.from_directory(checkpoint))
        positive = booster.predict(xgboost.DMatrix(x))
        return np.stack([1 - positive, positive], axis=1)
    from raydt.frameworks.tensorflow.trainer import WEIGHTS_FILE, build_model

    model = build_model(meta["inputSize"], meta["hiddenSize"], meta["numClasses"])
    model.load_weights(str(Path(checkpoint, WEIGHTS_FILE)))
    logits = np.asarray(model(x, training=False))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_checkpoint_frequency_and_resume_from_checkpoint(shared_ray: None, tmp_path: Path) -> None:
    first = {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {"epochs": 4},
        "runConfig": {"storagePath": str(tmp_path), "name": "first", "checkpoint": {"numToKeep": None, "frequency": 2}},
    }
    out = raydt.run(first)
    assert out["status"] == "success", out
    assert "_raydt" not in out["results"]["bestConfig"]
    kept = [p for p in Path(out["experimentPath"]).iterdir() if p.is_dir() and p.name.startswith("checkpoint_")]
    assert len(kept) == 2  # epochs 2 and 4 only
    second = {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {"epochs": 6, "resumeFromCheckpoint": out["checkpointPath"]},
        "runConfig": {"storagePath": str(tmp_path), "name": "second"},
    }
    resumed = raydt.run(second)
    assert resumed["status"] == "success", resumed
    assert resumed["results"]["iterations"] == 6 - out["results"]["bestMetrics"]["epoch"]  # only the rest
    assert resumed["results"]["finalMetrics"]["epoch"] == 6


def test_a_file_trainer_imports_its_sibling_module_on_the_workers_from_any_directory(tmp_path: Path) -> None:
    """`import helper` beside the trainer works on the workers as under `python trainer.py`, also when raydt runs
    from another directory (Ray itself adds only the driver's working directory to the workers' path)."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "helper_for_raydt_test.py").write_text("def value():\n    return 42.0\n")
    (code / "trainer.py").write_text(
        "import ray.train\nimport helper_for_raydt_test\n\n\n"
        "def train(config):\n    ray.train.report({'loss': helper_for_raydt_test.value()})\n"
    )
    spec = {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {"trainerPath": "code/trainer.py:train", "metric": "loss"},
        "runConfig": {"storagePath": str(tmp_path / "out")},
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = run_cli("run", str(tmp_path / "spec.json"), "--quiet", cwd=elsewhere)
    assert res.out["status"] == "success", res.out
    assert res.out["results"]["bestMetric"] == 42.0
