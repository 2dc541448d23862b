"""Benchmark: Ray Data ingest throughput (rows per second into training) on a generated CSV of
INGEST_ROWS rows x 16 float features. raydt's dataConfig (read, split, standardize, materialize once,
shard to 2 workers) against the hand-written Ray Data + TorchTrainer script (lazy, Ray's defaults) and
plain pandas in one process (reference). The per-worker loop (loops.py:ingest) is the same for both Ray
runs: it iterates its shard as torch batches of 1024 rows for 2 epochs.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from common import HERE, PY, RAYDT, Case, alternate, last_json_line, median, ratio, reps, save, spec_file

ROWS = int(os.environ.get("INGEST_ROWS", 400_000))
EPOCHS = 2
cache = HERE / ".cache"
cache.mkdir(exist_ok=True)
csv = cache / f"ingest-{ROWS}.csv"
if not csv.exists():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(ROWS, 16)).astype(np.float32), columns=[f"f{i}" for i in range(16)])
    frame["y"] = rng.integers(0, 2, ROWS)
    frame.to_csv(csv, index=False)

spec = {
    "mode": "train",
    "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
    "trainConfig": {
        "trainerPath": f"{HERE}/loops.py:ingest",
        "trainLoopConfig": {"epochs": EPOCHS, "batchSize": 1024},
        "metric": "rowsPerS",
        "metricMode": "max",
    },
    "dataConfig": {"train": {"format": "csv", "paths": str(csv), "label": "y"}, "preprocess": [{"standardize": {}}]},
    "runConfig": {"storagePath": "./raydt_results"},
}
path = spec_file(spec, "ingest")


def raydt_epochs(stdout: str) -> dict[str, object]:
    import json

    out = json.loads(stdout)
    return {
        "status": out["status"],
        "bestRowsPerS": out["results"]["bestMetric"],
        "firstEpochRowsPerS": out["results"]["bestMetrics"]["rowsPerS"]
        if out["results"]["bestIteration"] == 1
        else None,
        "prepareS": out.get("data", {}).get("prepareSeconds"),
        "trainingTimeS": out.get("trainingTime"),
    }


def best(stdout: str) -> dict[str, object]:
    data = last_json_line(stdout)
    return {**data, "bestRowsPerS": max(data["epochRowsPerS"])}


cases = [
    Case("raydt", [*RAYDT, "run", path, "--quiet"], raydt_epochs),
    Case("ray-data", [PY, f"{HERE}/compare/ray_data_ingest.py", str(csv), str(EPOCHS)], last_json_line),
    Case("pandas", [PY, f"{HERE}/compare/pandas_ingest.py", str(csv), str(EPOCHS)], last_json_line),
]
alternate(cases, reps(3))
r_rate, t_rate, p_rate = (median(c, "bestRowsPerS") for c in cases)
r_wall, t_wall, p_wall = (median(c) for c in cases)
save(
    "ingest",
    f"Ray Data ingest, {ROWS} CSV rows x 16 features, 2 workers",
    [
        {"what": f"ingest rows/s into training (best of {EPOCHS} epochs) vs hand-written Ray Data + TorchTrainer",
         "raydt": r_rate, "comparison": t_rate, "ratio": ratio(r_rate, t_rate), "target": "(recorded; >= 1 wanted)"},
        {"what": f"read + preprocess + {EPOCHS} ingest epochs, whole process (s) vs hand-written",
         "raydt": r_wall, "comparison": t_wall, "ratio": ratio(r_wall, t_wall), "target": "(recorded; <= 1 wanted)"},
        {"what": "ingest rows/s: raydt (2 Ray workers) vs plain pandas + torch batches (1 process)",
         "raydt": r_rate, "comparison": p_rate, "ratio": ratio(r_rate, p_rate), "target": "(reference)"},
    ],
    cases,
    notes="raydt materializes the preprocessed data once (dataConfig.materialize, default true) and fits with "
    "the sort-based shuffle; the hand-written script streams lazily (re-reading the CSV each epoch).",
)  # fmt: skip
