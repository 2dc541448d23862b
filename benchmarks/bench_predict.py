"""Benchmark: batch inference rows/s. `raydt predict` (mode predict: Ray Data map_batches over an actor pool, the
checkpoint's preprocessing, staged output) against the hand-written Ray Data script with the same model, batch
size and actors (target: raydt >= 0.95x its rows/s), and against calling raydt's serve endpoint one row per
request (the "batch or online?" advice). PREDICT_ROWS rows (default 200,000) x 16 float features, Parquet in and
out; the model is a built-in PyTorch MLP trained once (1 epoch) on the same kind of rows with dataConfig.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request

import numpy as np
import pandas as pd
from common import HERE, PY, RAYDT, Case, alternate, last_json_line, median, ratio, reps, save, spec_file

ROWS = int(os.environ.get("PREDICT_ROWS", 200_000))
#: PREDICT_OBJECT_STORE_MB: both runs' Ray gets an object store this small (streaming a dataset bigger than it)
STORE_MB = int(os.environ.get("PREDICT_OBJECT_STORE_MB", 0))
STORE = {"object_store_memory": STORE_MB << 20} if STORE_MB else {}
BATCH, ACTORS, SERVED_ROWS = 1024, 1, 300  # one 1-CPU actor: the other CPU reads and writes (runners.predict.pool_size)
cache = HERE / ".cache"
cache.mkdir(exist_ok=True)
columns = [f"f{i}" for i in range(16)]


def rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 16)).astype(np.float32), columns=columns)
    frame.insert(0, "id", np.arange(n))
    return frame


train_csv, data = cache / "predict-train.csv", cache / f"predict-{ROWS}.parquet"
if not train_csv.exists():
    train = rows(20_000, 1)
    train["y"] = (train["f0"] + train["f1"] > 0).astype(int)
    train.to_csv(train_csv, index=False)
if not data.exists():
    rows(ROWS, 2).to_parquet(data)
model_dir = cache / "predict-model"
if not (model_dir / "model").exists():
    train_spec = {
        "mode": "train",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"framework": "pytorch", "epochs": 1},
        "dataConfig": {
            "train": {"format": "csv", "paths": str(train_csv), "label": "y"},
            "preprocess": [{"dropColumns": {"columns": ["id"]}}, {"standardize": {}}],
        },
        "runConfig": {"storagePath": str(model_dir), "name": "model"},
    }
    done = subprocess.run([*RAYDT, "run", spec_file(train_spec, "predict_train"), "-q"], capture_output=True, text=True)
    assert json.loads(done.stdout)["status"] == "success", done.stdout[-2000:]
from raydt.serving.loading import best_checkpoint  # noqa: E402  # reads files only

checkpoint = best_checkpoint(str(model_dir / "model"))

spec = {
    "mode": "predict",
    "config": {"numWorkers": ACTORS, "resourcesPerWorker": {"cpu": 1}, "rayInit": STORE},
    "predictConfig": {
        "checkpointPath": checkpoint,
        "data": {"format": "parquet", "paths": str(data)},
        "keepColumns": ["id"],
        "output": {"path": "./scores"},  # relative: each repetition runs in its own folder
        "batchSize": BATCH,
    },
}
path = spec_file(spec, "predict")


def raydt_rows(stdout: str) -> dict[str, object]:
    out = json.loads(stdout)
    return {"status": out["status"], "rowsPerSecondInRun": out["results"].get("rowsPerSecond")}


cases = [
    Case("raydt", [*RAYDT, "predict", path, "-q"], raydt_rows),
    Case(
        "ray-data",
        [
            PY,
            f"{HERE}/compare/ray_data_predict.py",
            checkpoint,
            str(data),
            "./scores",
            str(BATCH),
            str(ACTORS),
            str(STORE_MB),
        ],
        last_json_line,
    ),
]
alternate(cases, reps(3))
r, h = median(cases[0]), median(cases[1])
raydt_rps = round(ROWS / r, 1) if r else None
hand_rps = round(ROWS / h, 1) if h else None


def served_rows_per_second() -> float:
    """raydt's serve endpoint (detached) called with one row per request, SERVED_ROWS times: rows/s."""
    serve = {"mode": "serve", "config": {}, "serveConfig": {"checkpointPath": checkpoint, "port": 8791}}
    started = subprocess.run([*RAYDT, "run", spec_file(serve, "predict_serve"), "--detach", "-q"], capture_output=True)
    doc = json.loads(started.stdout)
    assert doc["status"] == "success", doc
    endpoint = doc["endpoint"]
    sample = rows(SERVED_ROWS, 3)[["id", *columns]].to_dict("records")
    try:
        t0 = time.perf_counter()
        for row in sample:
            body = json.dumps({"instances": [row]}).encode()
            request = urllib.request.Request(f"{endpoint}/predict", body, {"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=30).read()
        return round(SERVED_ROWS / (time.perf_counter() - t0), 1)
    finally:
        subprocess.run([*RAYDT, "serve", "shutdown", "--port", "8791"], capture_output=True)


online = served_rows_per_second()
store = f", object store {STORE_MB} MiB" if STORE_MB else ""
save(
    "predict" if (ROWS, STORE_MB) == (200_000, 0) else f"predict_{ROWS}_{STORE_MB}",
    f"batch inference of {ROWS} rows x 16 features (Parquet in and out, {ACTORS} actors x 1 CPU, batch {BATCH}{store})",
    [
        {
            "what": "raydt predict rows/s (whole process) vs hand-written Ray Data map_batches, same model",
            "raydt": raydt_rps,
            "comparison": hand_rps,
            "ratio": ratio(raydt_rps, hand_rps),
            "target": "ratio >= 0.95",
        },
        {
            "what": f"raydt predict rows/s vs raydt's serve endpoint called one row per request ({SERVED_ROWS} rows)",
            "raydt": raydt_rps,
            "comparison": online,
            "ratio": ratio(raydt_rps, online),
            "target": "(batch or online?)",
        },
    ],
    cases,
)
