"""Benchmark 4: search quality. Time and trials to reach a target validation accuracy on the digits MLP:
raydt's defaults (TPE + ASHA, stopAt) against Ray Tune's default search (random + FIFO) and against
Optuna with its median pruner (2 trials at a time, like the others on 2 CPUs), over 3 seeds.
Target: raydt reaches the target in at most half the time of the Ray default.
"""

from __future__ import annotations

import os
import statistics

from common import PY, RAYDT, Case, alternate, last_json_line, ratio, raydt_json, save, spec_file

TARGET = float(os.environ.get("BENCH_TARGET", 0.975))
MAX_TRIALS = int(os.environ.get("BENCH_MAX_TRIALS", 60))
EPOCHS = int(os.environ.get("BENCH_EPOCHS", 10))
SEEDS = [int(s) for s in os.environ.get("BENCH_SEEDS", "1,2,3").split(",")]
here = os.path.dirname(os.path.abspath(__file__))
cases: list[Case] = []
for seed in SEEDS:
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}, "rayInit": {"num_cpus": 2}},
        "trainConfig": {"framework": "pytorch", "epochs": EPOCHS},
        "tuneConfig": {
            "searchSpace": {
                "lr": {"type": "loguniform", "min": 1e-4, "max": 0.3},
                "batchSize": {"type": "choice", "values": [16, 32, 64, 128]},
                "hiddenSize": {"type": "choice", "values": [8, 16, 32, 64, 128]},
            },
            "numSamples": MAX_TRIALS,
            "metric": "val_accuracy",
            "mode": "max",
            "stopAt": TARGET,
            "seed": seed,
        },
        "runConfig": {"storagePath": "./raydt_results"},
    }
    path = spec_file(spec, f"search_quality_seed{seed}")
    args = [str(seed), str(TARGET), str(MAX_TRIALS), str(EPOCHS)]
    cases += [
        Case(f"raydt-s{seed}", [*RAYDT, "run", path, "--quiet"], raydt_json),
        Case(f"ray-default-s{seed}", [PY, f"{here}/compare/digits_search.py", "ray", *args], last_json_line),
        Case(f"optuna-s{seed}", [PY, f"{here}/compare/digits_search.py", "optuna", *args], last_json_line),
    ]
alternate(cases, 1, timeout=3600)


def system(prefix: str, key: str) -> float | None:
    values = [c.runs[0][key] for c in cases if c.name.startswith(prefix + "-s") and key in c.runs[0]]
    return round(statistics.median(values), 3) if values else None


def reached(prefix: str) -> str:
    rows = [c.runs[0] for c in cases if c.name.startswith(prefix + "-s")]
    ok = sum(1 for r in rows if (r.get("bestMetric") or 0) >= TARGET)
    return f"{ok}/{len(rows)}"


r, d, o = system("raydt", "wallS"), system("ray-default", "wallS"), system("optuna", "wallS")
save(
    "search_quality",
    f"time to val_accuracy >= {TARGET} on digits (median of {len(SEEDS)} seeds, <= {MAX_TRIALS} trials)",
    [
        {"what": f"time to {TARGET} val_accuracy vs Ray default (reached: raydt {reached('raydt')}, "
         f"Ray {reached('ray-default')})", "raydt": r, "comparison": d, "ratio": ratio(r, d), "target": "ratio <= 0.5"},
        {"what": f"time to {TARGET} val_accuracy vs Optuna + MedianPruner (reached: {reached('optuna')})",
         "raydt": r, "comparison": o, "ratio": ratio(r, o), "target": "(reference)"},
        {"what": f"trials created until the target vs Ray default (its generator creates all {MAX_TRIALS} at once)",
         "raydt": system("raydt", "numTrials"),
         "comparison": system("ray-default", "numTrials"),
         "ratio": ratio(system("raydt", "numTrials"), system("ray-default", "numTrials")), "target": "(reference)"},
    ],
    cases,
)  # fmt: skip
