"""mode: predict on real Ray Data: two models trained once (built-in PyTorch on CSV, XGBoost on Parquet, each with a
dataConfig pipeline), then folders of rows scored by an actor pool and compared with the same model loaded directly
(the serve replica's loader); bad rows both ways; a Ctrl-C'd run leaves nothing at the output path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import raydt
from raydt.serving.loading import make_predictor
from tests.conftest import ROOT, assert_seed_output, run_cli

pytestmark = pytest.mark.slow

N_SCORE = 600


def frame(n: int, seed: int, gaps: int = 0) -> pd.DataFrame:
    """An id, two numbers (``gaps`` of x2 missing), a city and a yes/no label."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(0, 1, n), rng.normal(5, 3, n)
    city = rng.choice(["oslo", "paris", "rome"], n)
    score = x1 + (x2 - 5) / 3 + np.where(city == "rome", 1.5, 0.0) + rng.normal(0, 0.3, n)
    if gaps:
        x2[rng.choice(n, gaps, replace=False)] = np.nan
    label = np.where(score > 0.5, "yes", "no")
    return pd.DataFrame({"id": np.arange(n) + seed * 100_000, "x1": x1, "x2": x2, "city": city, "label": label})


STEPS = [{"dropColumns": {"columns": ["id"]}}, {"oneHot": {"columns": ["city"]}}, {"standardize": {}}]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, shared_ray: None) -> dict[str, Any]:
    """A built-in PyTorch model (CSV) and an XGBoost model (Parquet), one worker, one epoch / a few rounds."""
    tmp = tmp_path_factory.mktemp("predict")
    frame(800, 1).to_csv(tmp / "train.csv", index=False)
    frame(800, 1).to_parquet(tmp / "train.parquet")
    out = {"dir": tmp}
    for name, framework, fmt, loop in (
        ("pt", "pytorch", "csv", {"epochs": 1}),
        ("xgb", "xgboost", "parquet", {"epochs": 3}),
    ):
        spec = {
            "mode": "train",
            "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
            "trainConfig": {"framework": framework, **loop},
            "dataConfig": {
                "train": {"format": fmt, "paths": str(tmp / f"train.{fmt}"), "label": "label"},
                "validationSplit": 0.2,
                "preprocess": STEPS,
            },
            "runConfig": {"storagePath": str(tmp / "runs"), "name": name},
        }
        result = raydt.run(spec)
        assert result["status"] == "success", result
        out[name] = result
    return out


def predict_spec(model: dict[str, Any], data: dict[str, Any], output: Path, **more: Any) -> dict[str, Any]:
    return {
        "mode": "predict",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 0.5}},
        "predictConfig": {
            "experimentPath": model["experimentPath"],
            "data": data,
            "keepColumns": ["id"],
            "output": {"path": str(output)},
            "batchSize": 64,
            **more,
        },
    }


def direct(checkpoint: str, rows: pd.DataFrame, probabilities: bool = False) -> dict[str, Any]:
    """The same rows through the model loaded in this process, as a serve replica loads it."""
    predictor = make_predictor({"checkpoint": checkpoint})
    records = rows[["id", "x1", "x2", "city"]].astype(object).where(rows.notna(), None).to_dict("records")
    out: dict[str, Any] = predictor.predict(predictor.rows(records), probabilities)
    return out


def test_a_folder_of_csv_files_is_scored_like_the_model_loaded_directly(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "rows"
    folder.mkdir()
    rows = frame(N_SCORE, 7)
    for i in range(6):  # a folder of many files, streamed through the pool
        rows.iloc[i * 100 : (i + 1) * 100].drop(columns=["label"]).to_csv(folder / f"part-{i}.csv", index=False)
    spec = tmp_path / "predict.json"
    out_dir = tmp_path / "scores"
    spec.write_text(json.dumps(predict_spec(trained["pt"], {"format": "csv", "paths": str(folder)}, out_dir)))
    res = run_cli("predict", str(spec), "-q", timeout=240)
    doc = res.out
    assert res.code == 0 and doc["status"] == "success", doc
    assert doc["mode"] == "predict" and doc["checkpointPath"] == trained["pt"]["checkpointPath"]
    assert doc["results"]["rowsIn"] == doc["results"]["rowsOut"] == N_SCORE and doc["results"]["badRows"] == 0
    assert doc["results"]["rowsPerSecond"] > 0
    files = doc["output"]["files"]
    assert files and all((out_dir / f).is_file() and f.endswith(".parquet") for f in files), files
    scored = pd.read_parquet(out_dir).sort_values("id")
    assert list(scored.columns) == ["id", "prediction"]
    expected = direct(doc["checkpointPath"], rows.sort_values("id"))["predictions"]
    assert scored["prediction"].tolist() == expected
    assert not [p for p in tmp_path.iterdir() if "staging" in p.name]


def test_xgboost_on_parquet_writes_csv_with_the_probabilities_of_the_direct_model(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    rows = frame(N_SCORE, 8)
    rows.drop(columns=["label"]).to_parquet(tmp_path / "rows.parquet")
    data = {"format": "parquet", "paths": str(tmp_path / "rows.parquet")}
    spec = predict_spec(trained["xgb"], data, tmp_path / "scores", probabilities=True)
    spec["predictConfig"]["output"]["format"] = "csv"
    doc = raydt.run(spec)
    assert doc["status"] == "success", doc
    assert_seed_output(doc)
    out_dir = Path(doc["output"]["path"])
    scored = pd.concat(pd.read_csv(out_dir / f) for f in doc["output"]["files"]).sort_values("id")
    want = direct(doc["checkpointPath"], rows.sort_values("id"), probabilities=True)
    assert scored["prediction"].tolist() == want["predictions"]
    got = [json.loads(p) if isinstance(p, str) and p.startswith("[") else p for p in scored["probabilities"]]
    assert np.allclose(np.asarray(got, dtype=float), np.asarray(want["probabilities"]), atol=1e-5)


def test_bad_rows_are_skipped_and_counted_or_fail_the_run_naming_them_and_leaving_nothing(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    """The XGBoost pipeline fills no gaps: a row with x2 missing cannot be scored."""
    rows = frame(N_SCORE, 9, gaps=5)
    rows.drop(columns=["label"]).to_parquet(tmp_path / "rows.parquet")
    data = {"format": "parquet", "paths": str(tmp_path / "rows.parquet")}
    skipped = raydt.run(predict_spec(trained["xgb"], data, tmp_path / "skip", onBadRows="skip"))
    assert skipped["status"] == "success", skipped
    assert skipped["results"]["badRows"] == 5 and skipped["results"]["rowsOut"] == N_SCORE - 5
    assert skipped["results"]["rowsIn"] == N_SCORE and "skipped" in " ".join(skipped["warnings"])
    bad_ids = set(rows.loc[rows["x2"].isna(), "id"])
    assert not bad_ids & set(pd.read_parquet(tmp_path / "skip")["id"])
    failed = raydt.run(predict_spec(trained["xgb"], data, tmp_path / "fail"))
    assert failed["status"] == "error" and failed["error"]["code"] == "DATA_INVALID", failed
    issue = failed["error"]["issues"][0]
    assert issue["path"] == "predictConfig.data" and "cannot be scored" in issue["rule"], issue
    assert any(str(i) in issue["rule"] for i in bad_ids), issue["rule"]  # the row is named by its values
    assert not (tmp_path / "fail").exists() and not [p for p in tmp_path.iterdir() if "staging" in p.name]


SLOW_PREDICTOR = """
import time


class Slow:
    '''A user predictor (predictConfig.predictorPath) that takes its time: a run to interrupt.'''

    def __init__(self, checkpoint_dir):
        self.checkpoint_dir = checkpoint_dir

    def predict(self, instances):
        time.sleep(0.5)
        return [len(row) for row in instances]
"""


def test_ctrl_c_mid_run_leaves_no_output_and_no_staging(trained: dict[str, Any], tmp_path: Path) -> None:
    rows = frame(N_SCORE, 10)
    rows.drop(columns=["label"]).to_parquet(tmp_path / "rows.parquet")
    (tmp_path / "slow.py").write_text(SLOW_PREDICTOR)
    data = {"format": "parquet", "paths": str(tmp_path / "rows.parquet")}
    spec = predict_spec(trained["pt"], data, tmp_path / "scores", predictorPath=f"{tmp_path / 'slow.py'}:Slow")
    spec["predictConfig"]["batchSize"] = 10  # 60 batches of half a second on two actors: ~15 s
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    proc = subprocess.Popen(
        [sys.executable, "-m", "raydt", "predict", str(tmp_path / "spec.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 120
        for line in proc.stderr:  # the live view: interrupt once rows are being scored
            if "rows (" in line or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    doc = json.loads(out)
    assert doc["status"] == "error" and doc["error"]["code"] == "INTERRUPTED", doc
    assert not (tmp_path / "scores").exists()
    assert not [p for p in tmp_path.iterdir() if "staging" in p.name]


def test_many_csv_files_stream_through_an_object_store_budget_smaller_than_the_data(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    """40 CSV files (~0.4 MiB of rows) scored under a Ray Data object store budget of 64 KiB: the rows stream
    through the pool in blocks, and every one is scored as the model loaded directly scores it."""
    import ray.data
    from ray.data import ExecutionResources

    folder = tmp_path / "many"
    folder.mkdir()
    rows = frame(40 * 250, 21)
    for i in range(40):
        rows.iloc[i * 250 : (i + 1) * 250].drop(columns=["label"]).to_csv(folder / f"part-{i:02d}.csv", index=False)
    assert sum(f.stat().st_size for f in folder.iterdir()) > 4 * (64 << 10)
    context = ray.data.DataContext.get_current()
    before = context.execution_options.resource_limits
    context.execution_options.resource_limits = ExecutionResources.for_limits(object_store_memory=64 << 10)
    try:
        spec = predict_spec(trained["pt"], {"format": "csv", "paths": str(folder)}, tmp_path / "scores")
        out = raydt.run(spec)
    finally:
        context.execution_options.resource_limits = before
    assert out["status"] == "success" and out["results"]["rowsOut"] == len(rows), out
    scored = pd.read_parquet(tmp_path / "scores").sort_values("id")
    expected = direct(out["checkpointPath"], rows.sort_values("id"))["predictions"]
    assert scored["prediction"].tolist() == expected
