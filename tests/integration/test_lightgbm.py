"""framework: lightgbm on a real local Ray (one Ray for the module): the built-in trainer on 2 workers (LightGBM's
own data-parallel learner), its model served over HTTP, a search of distributed 2-worker trials on Ray Data
input, and LightGBM's own Ray Tune callback trainable."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import raydt
from tests.conftest import ROOT, assert_seed_output, free_port

pytestmark = pytest.mark.slow

ROUNDS = 5


@pytest.fixture(scope="module")
def trained(shared_ray: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"framework": "lightgbm", "epochs": ROUNDS, "trainLoopConfig": {"learningRate": 0.3}},
        "runConfig": {"storagePath": str(tmp_path_factory.mktemp("lightgbm"))},
    }
    out = raydt.run(spec)
    assert_seed_output(out)
    return out


def test_builtin_trainer_on_two_workers(trained: dict[str, Any]) -> None:
    assert trained["status"] == "success", trained
    assert trained["framework"] == "lightgbm" and trained["numWorkers"] == 2
    r = trained["results"]
    assert r["iterations"] == ROUNDS and r["metric"] == "val_logloss"  # the framework's default metric
    assert r["bestConfig"] == {
        "num_boost_round": ROUNDS,  # trainConfig.epochs sets LightGBM's own name
        "learning_rate": 0.3,  # the camelCase alias folded in
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.9,
    }
    assert set(r["finalMetrics"]) == {"train_logloss", "train_error", "val_logloss", "val_error"}
    assert r["finalMetrics"]["val_error"] < 0.1  # it really learns
    ckpt = Path(trained["checkpointPath"])
    meta = json.loads((ckpt / "raydt_meta.json").read_text())
    assert meta["framework"] == "lightgbm" and meta["model"] == "raydt.frameworks.lightgbm.trainer"
    # both workers trained one model: LightGBM's data-parallel learner over the network Ray Train set up
    model = (ckpt / "model.txt").read_text()
    assert "[tree_learner: data]" in model and "[num_machines: 2]" in model


def test_served_over_http_like_the_model_loaded_directly(trained: dict[str, Any]) -> None:
    import lightgbm
    from ray import serve
    from sklearn.datasets import load_breast_cancer

    from raydt.serving.predictors import BuiltinPredictor

    checkpoint = trained["checkpointPath"]
    raw, labels = load_breast_cancer(return_X_y=True)
    meta = json.loads(Path(checkpoint, "raydt_meta.json").read_text())
    scale = meta["preprocessing"]["standardize"]
    x = (raw.astype(np.float32) - np.float32(scale["mean"])) / np.float32(scale["std"])  # float32, as in training
    positive = lightgbm.Booster(model_file=str(Path(checkpoint, "model.txt"))).predict(x[:120])
    expected = np.stack([1 - positive, positive], axis=1)

    predictor = BuiltinPredictor(checkpoint)  # raw rows in, the saved standardisation applied
    got = predictor.predict(predictor.rows(raw[:120].tolist()), probabilities=True)
    assert got["predictions"] == expected.argmax(axis=1).tolist()
    assert np.allclose(got["probabilities"], expected, atol=1e-5)
    assert np.mean(np.array(got["predictions"]) == labels[:120]) > 0.85

    serve_config = {"checkpointPath": checkpoint, "port": free_port()}
    served = raydt.run({"mode": "serve", "config": {}, "serveConfig": serve_config})
    try:
        assert served["status"] == "success" and served["serve"]["replicas"] == {"RUNNING": 1}, served
        body = json.dumps({"instances": raw[:120].tolist(), "probabilities": True}).encode()
        with urllib.request.urlopen(urllib.request.Request(served["serve"]["predict"], data=body), timeout=60) as r:
            answer = json.loads(r.read())
        assert answer["predictions"] == got["predictions"]
        assert np.allclose(answer["probabilities"], expected, atol=1e-5)
        with urllib.request.urlopen(served["serve"]["metadata"], timeout=60) as r:
            assert json.loads(r.read())["framework"] == "lightgbm"
    finally:
        serve.shutdown()


def test_tune_distributed_trials_on_ray_data(shared_ray: None, tmp_path: Path) -> None:
    """A 2-worker trial, a LightGBMTrainer run whose workers each read their shard of a CSV through dataConfig
    (three classes: LightGBM's multiclass objective under the same metric names)."""
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame.to_csv(tmp_path / "wine.csv", index=False)
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 0.5}},
        "trainConfig": {"framework": "lightgbm", "trainLoopConfig": {"num_boost_round": ROUNDS, "minDataInLeaf": 5}},
        "dataConfig": {"train": {"format": "csv", "paths": str(tmp_path / "wine.csv"), "label": "target"}},
        "tuneConfig": {
            "searchSpace": {"learning_rate": {"type": "grid", "values": [0.3]}},  # one 2-worker trial is the point
            "scheduler": "fifo",
        },
        "runConfig": {"storagePath": str(tmp_path / "results")},
    }
    out = raydt.run(spec)
    assert_seed_output(out)
    assert out["status"] == "success", out
    assert out["numWorkers"] == 2 and out["results"]["numTrials"] == 1
    assert all(t["status"] == "TERMINATED" and t["iterations"] == ROUNDS for t in out["trials"])
    assert out["results"]["metric"] == "val_logloss" and out["results"]["bestMetrics"]["val_error"] < 0.15
    assert out["data"]["numClasses"] == 3
    assert Path(out["checkpointPath"], "model.txt").is_file()
    assert Path(out["checkpointPath"], "data_pipeline.pkl").is_file()
    assert len(list((Path(out["experimentPath"]) / "train_runs").iterdir())) == 1  # a Ray Train run per trial


def test_lightgbm_tune_callback_trainable_runs_unchanged(shared_ray: None, tmp_path: Path) -> None:
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1},
        "trainConfig": {
            "framework": "lightgbm",
            "trainerPath": f"{ROOT}/tests/fixtures/tune_functions.py:lgb_with_tune_callback",
        },
        "tuneConfig": {
            "searchSpace": {
                "num_leaves": {"type": "randint", "min": 4, "max": 16},
                "learning_rate": {"type": "loguniform", "min": 0.05, "max": 0.5},
            },
            "metric": "eval-binary_logloss",
            "mode": "min",
            "numSamples": 2,
            "seed": 0,
            "scheduler": "fifo",
        },
        "runConfig": {"storagePath": str(tmp_path)},
    }
    out = raydt.run(spec)
    assert out["status"] == "success", out
    assert [t["iterations"] for t in out["trials"]] == [ROUNDS, ROUNDS], out["trials"]
    assert Path(out["checkpointPath"], "model.txt").is_file()  # the callback's own checkpoint
