"""dataConfig on real Ray Data: files the tests write (CSV and Parquet, a few thousand rows), read, preprocessed
(fitted on the training split only), sharded to Ray Train workers, trained, tuned and served."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import raydt
from tests.conftest import FIXTURES, assert_seed_output, free_port, run_cli

pytestmark = pytest.mark.slow

N_TRAIN, N_VAL = 2400, 600


def make_frame(n: int, seed: int) -> pd.DataFrame:
    """Two numeric features (x2 with gaps), a city (string), a binary label and a 3-class tier."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 1, n)
    x2 = rng.normal(5, 3, n)
    city = rng.choice(["oslo", "paris", "rome"], n)
    score = x1 + (x2 - 5) / 3 + np.where(city == "rome", 1.5, 0.0) + rng.normal(0, 0.3, n)
    x2[rng.choice(n, n // 50, replace=False)] = np.nan
    tier = np.digitize(score, [-0.5, 1.0])
    return pd.DataFrame(
        {
            "id": np.arange(n) + seed * 100_000,
            "x1": x1,
            "x2": x2,
            "city": city,
            "label": np.where(score > 0.5, "yes", "no"),
            "tier": np.array(["low", "mid", "high"])[tier],
        }
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("data")
    train, val = make_frame(N_TRAIN, 1), make_frame(N_VAL, 2)
    train.to_csv(tmp / "train.csv", index=False)
    val.to_csv(tmp / "val.csv", index=False)
    val.to_json(tmp / "val.jsonl", orient="records", lines=True)
    (tmp / "parts").mkdir()
    both = pd.concat([train, val], ignore_index=True)
    for i in range(3):  # a folder of Parquet files
        both.iloc[i * 1000 : (i + 1) * 1000].to_parquet(tmp / "parts" / f"part-{i}.parquet")
    return {"dir": tmp, "train": train, "val": val}


STEPS = [
    {"dropColumns": {"columns": ["id", "tier"]}},
    {"fillNa": {}},
    {"oneHot": {"columns": ["city"]}},
    {"standardize": {}},
]


def test_pytorch_on_csv_via_cli_fitted_on_train_only_and_served(
    files: dict[str, Any], tmp_path: Path, shared_ray: None
) -> None:
    d = files["dir"]
    spec = {
        "mode": "train",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"framework": "pytorch", "epochs": 3},
        "dataConfig": {
            "train": {"format": "csv", "paths": "train.csv", "label": "label"},  # relative to the spec's folder
            "validation": {"format": "csv", "paths": "val.csv"},
            "preprocess": STEPS,
        },
        "runConfig": {"storagePath": str(tmp_path)},
    }
    (d / "csv.json").write_text(json.dumps(spec))
    res = run_cli("run", str(d / "csv.json"), timeout=600)
    out = res.out
    assert res.code == 0 and out["status"] == "success", out
    info = out["data"]
    assert info["rows"] == {"train": N_TRAIN, "validation": N_VAL}
    assert info["classes"] == ["no", "yes"] and info["inputSize"] == 2 + 3  # x1, x2 + one-hot city
    assert out["results"]["finalMetrics"]["val_accuracy"] > 0.85

    # fitted on the training split only: the saved statistics are the training file's, not all rows'
    from raydt.data.pipeline import Pipeline

    pipeline = Pipeline.load(Path(out["checkpointPath"]) / "data_pipeline.pkl")
    fill, scale = pipeline.steps[1].pre.stats_, pipeline.steps[3].pre.stats_
    train, both = files["train"], pd.concat([files["train"], files["val"]])
    assert fill["mean(x2)"] == pytest.approx(train["x2"].mean(), rel=1e-9)
    assert fill["mean(x2)"] != pytest.approx(both["x2"].mean(), rel=1e-6)
    filled = train["x2"].fillna(train["x2"].mean())
    assert scale["mean(x2)"] == pytest.approx(filled.mean(), rel=1e-9)
    assert scale["std(x2)"] == pytest.approx(filled.std(ddof=0), rel=1e-6)

    # served: raw rows as in the CSV (gaps, strings) in; the saved pipeline applied; labels out
    from ray import serve

    port = free_port()
    served = raydt.run(
        {"mode": "serve", "config": {}, "serveConfig": {"checkpointPath": out["checkpointPath"], "port": port}}
    )
    try:
        val = files["val"]
        rows = [
            {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in val[["id", "x1", "x2", "city"]].to_dict("records")
        ]
        body = json.dumps({"instances": rows}).encode()
        with urllib.request.urlopen(urllib.request.Request(served["serve"]["predict"], data=body), timeout=60) as r:
            predictions = json.loads(r.read())["predictions"]
        assert set(predictions) <= {"yes", "no"}
        assert np.mean(np.array(predictions) == val["label"].to_numpy()) > 0.85
        with urllib.request.urlopen(served["serve"]["metadata"], timeout=60) as r:
            meta = json.loads(r.read())
        assert meta["columns"] == ["id", "x1", "x2", "city", "tier"] and meta["classes"] == ["no", "yes"]
        assert meta["unusedColumns"] == ["id", "tier"]  # dropped by a step: requests may leave them out
    finally:
        serve.shutdown()


@pytest.mark.parametrize(
    ("framework", "workers", "label", "check"),
    [
        ("xgboost", 2, "tier", lambda m: m["val_error"] < 0.2),  # 3 classes: multi:softprob
        ("tensorflow", 1, "label", lambda m: m["val_accuracy"] > 0.85),
    ],
)
def test_other_frameworks_tune_on_a_parquet_folder_and_answer_raw_rows(
    files: dict[str, Any], tmp_path: Path, shared_ray: None, framework: str, workers: int, label: str, check: Any
) -> None:
    """One search per framework on a Parquet folder split by validationSplit: xgboost's trial is distributed (a
    2-worker Ray Train run fed the shared datasets, three classes), tensorflow's trials run in the trial's own
    process (the datasets as its shards); the best checkpoint answers raw rows through its saved pipeline."""
    drop = "label" if label == "tier" else "tier"
    space = (
        {"eta": {"type": "uniform", "min": 0.1, "max": 0.3}}
        if framework == "xgboost"
        else {"lr": {"type": "loguniform", "min": 1e-3, "max": 1e-2}}
    )
    spec = {
        "mode": "tune",
        "config": {"numWorkers": workers, "resourcesPerWorker": {"cpu": 1 if workers == 1 else 0.9}},
        "trainConfig": {"framework": framework, "epochs": 20 if framework == "xgboost" else 3},
        # xgboost: one distributed trial (test_tune.py runs two in a row); tensorflow: two trials in one process
        "tuneConfig": {"searchSpace": space, "numSamples": 1 if framework == "xgboost" else 2, "seed": 0},
        "dataConfig": {
            "train": {"format": "parquet", "paths": str(files["dir"] / "parts"), "label": label},
            "validationSplit": 0.25,
            "preprocess": [{"dropColumns": {"columns": ["id", drop]}}, *STEPS[1:]],
        },
        "runConfig": {"storagePath": str(tmp_path)},
    }
    out = raydt.run(spec)
    assert_seed_output(out)
    samples = 1 if framework == "xgboost" else 2
    assert out["status"] == "success" and out["results"]["completedTrials"] == samples, out
    assert out["data"]["rows"] == {"train": 2250, "validation": 750}
    assert out["results"]["metric"] == ("val_logloss" if framework == "xgboost" else "val_loss")  # the default
    assert check(out["results"]["bestMetrics"]), out["results"]["bestMetrics"]
    if framework == "xgboost":  # every trial ran a real Ray Train worker group under the experiment
        assert len(list((Path(out["experimentPath"]) / "train_runs").iterdir())) == 1
    assert Path(out["checkpointPath"], "data_pipeline.pkl").is_file()
    if framework == "tensorflow":
        assert Path(out["checkpointPath"], "model.weights.h5").is_file()

    from raydt.serving.predictors import BuiltinPredictor

    predictor = BuiltinPredictor(out["checkpointPath"])  # what serving loads: pipeline + model
    val = files["val"]
    got = predictor.predict(
        predictor.rows(
            val[["id", "x1", "x2", "city", drop]]
            .head(300)
            .astype(object)
            .where(val.head(300).notna(), None)
            .values.tolist()
        )
    )
    assert set(got["predictions"]) <= set(val[label])
    assert np.mean(np.array(got["predictions"]) == val[label].head(300).to_numpy()) > 0.8


def test_every_worker_reads_a_disjoint_shard(files: dict[str, Any], tmp_path: Path, shared_ray: None) -> None:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {
            "trainerPath": f"{FIXTURES / 'data_trainers.py'}:shard_ids",
            "trainLoopConfig": {"out": str(tmp_path)},
            "metric": "rows",
        },
        "dataConfig": {
            "train": {"format": "csv", "paths": str(files["dir"] / "train.csv")},
            "validation": {"format": "json", "paths": str(files["dir"] / "val.jsonl")},  # JSON lines
        },
        "runConfig": {"storagePath": str(tmp_path)},
    }
    out = raydt.run(spec)
    assert out["status"] == "success", out
    seen = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    a, b = (set(s["epochs"][0]) for s in seen)
    assert a and b and not a & b  # disjoint
    assert a | b == set(files["train"]["id"])  # together: every training row
    assert all(set(s["epochs"][1]) == set(s["epochs"][0]) for s in seen)  # the same shard each epoch
    assert all(sorted(s["validation"]) == sorted(files["val"]["id"]) for s in seen)  # validation whole on each


COUNTING_STEP = """
import os
import uuid


def count(df):
    with open(os.path.join({folder!r}, uuid.uuid4().hex), "w") as fh:
        fh.write(str(len(df)))
    return df
"""


def test_tune_reads_and_preprocesses_once_for_all_trials(
    files: dict[str, Any], tmp_path: Path, shared_ray: None
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "counting.py").write_text(COUNTING_STEP.format(folder=str(marks)))
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"framework": "pytorch", "epochs": 2},
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "loguniform", "min": 1e-3, "max": 3e-2}},
            "numSamples": 3,
            "seed": 1,
        },
        "dataConfig": {
            "train": {"format": "csv", "paths": str(files["dir"] / "train.csv"), "label": "label"},
            "validation": {"format": "csv", "paths": str(files["dir"] / "val.csv")},
            "preprocess": [{"mapBatches": f"{tmp_path / 'counting.py'}:count"}, *STEPS],
        },
        "runConfig": {"storagePath": str(tmp_path)},
    }
    out = raydt.run(spec)
    assert_seed_output(out)
    assert out["status"] == "success" and out["results"]["completedTrials"] == 3, out
    assert out["results"]["bestMetrics"]["val_accuracy"] > 0.85
    processed = sum(int(p.read_text()) for p in marks.iterdir())
    assert processed == N_TRAIN + N_VAL  # every row through the step exactly once, not once per trial


def test_bad_data_is_a_clear_error_before_training(files: dict[str, Any], tmp_path: Path, shared_ray: None) -> None:
    d = tmp_path
    train_csv = str(files["dir"] / "train.csv")
    (d / "empty.csv").write_text("")
    (d / "header.csv").write_text("id,x1,x2,city,label,tier\n")
    (d / "broken.parquet").write_text("this is not parquet")
    files["val"].drop(columns=["x2"]).to_csv(d / "val_missing.csv", index=False)

    def error(data: dict[str, Any], config: dict[str, Any] | None = None) -> dict[str, Any]:
        out = raydt.run(
            {
                "mode": "train",
                "config": config or {},
                "trainConfig": {"epochs": 1},
                "dataConfig": data,
                "runConfig": {"storagePath": str(d / "runs")},
            }
        )
        assert out["status"] == "error" and out["error"]["code"] == "DATA_INVALID", out
        assert "iterations" not in out["results"]  # nothing trained
        return dict(out["error"])

    src = {"format": "csv", "paths": train_csv, "label": "label"}
    drop = [{"dropColumns": {"columns": ["id", "tier"]}}]
    err = error({"train": {**src, "label": "lable"}})
    assert err["issues"][0]["path"] == "dataConfig.train.label" and "did you mean 'label'" in err["issues"][0]["hint"]
    err = error({"train": src, "preprocess": drop + [{"fillNa": {}}]})
    assert "not numeric: city" in err["message"] and "oneHot" in err["hint"]
    err = error({"train": src, "preprocess": drop + [{"oneHot": {"columns": ["city"]}}]})
    assert "missing feature values" in err["message"] and "fillNa" in err["hint"]
    err = error({"train": src, "validation": {"format": "csv", "paths": str(d / "val_missing.csv")}})
    assert "lacks columns the training data has: x2" in err["message"]
    err = error({"train": {**src, "paths": str(d / "header.csv")}})
    assert "has no rows" in err["message"]
    err = error({"train": {**src, "paths": str(d / "empty.csv")}})
    assert err["issues"][0]["path"] == "dataConfig.train.paths" and "empty.csv" in json.dumps(err)
    err = error({"train": {**src, "format": "parquet", "paths": str(d / "broken.parquet")}})
    assert "cannot be read as parquet" in err["message"] and "broken.parquet" in json.dumps(err)
    # streaming while 2 workers hold both CPUs would hang Ray Data (measured with a hand-written script)
    err = error({"train": src, "materialize": False}, {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}})
    assert err["issues"][0]["path"] == "dataConfig.materialize" and "hold 2 of the cluster's 2 CPUs" in err["message"]
    err = error({"train": src, "preprocess": [{"standardize": {"columns": ["x3"]}}]})
    assert err["issues"][0]["path"] == "dataConfig.preprocess[0].standardize.columns" and "x3" in err["message"]
