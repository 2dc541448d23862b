"""Benchmark 10: warm start. New trials a search needs to reach a target when it starts from an earlier
search's finished trials (tuneConfig.warmStart) against the same search started cold, with the same seed,
over BENCH_REPS repetitions (each with its own seed and its own earlier search of 20 trials). Trials run one at
a time, so trials-to-target is exact; a search that never reaches the target counts as MAX_TRIALS + 1.
All searches share one Ray (raydt.run in this process): the figure is trials, not seconds.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from typing import Any

from common import Case, ratio, reps, save

import raydt
from raydt import ray_session

TARGET = float(os.environ.get("BENCH_TARGET", 0.002))
MAX_TRIALS = int(os.environ.get("BENCH_MAX_TRIALS", 40))
EARLIER = int(os.environ.get("BENCH_EARLIER", 20))
here = os.path.dirname(os.path.abspath(__file__))
SPACE = {k: {"type": "uniform", "min": 0.0, "max": 1.0} for k in ("x", "y", "z")}


def search(storage: str, name: str, seed: int, samples: int, **tc: Any) -> dict[str, Any]:
    return raydt.run(
        {
            "mode": "tune",
            "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
            "trainConfig": {"trainerPath": f"{here}/warm_objective.py:bowl"},
            "tuneConfig": {"searchSpace": SPACE, "metric": "score", "mode": "min", "numSamples": samples,
                           "scheduler": "fifo", "seed": seed, "maxConcurrentTrials": 1, **tc},
            "runConfig": {"storagePath": storage, "name": name},
        },
        quiet=True,
    )  # fmt: skip


def trials_to_target(out: dict[str, Any]) -> int:
    r = out["results"]
    return int(r["numTrials"]) if r.get("endReason") == "GOAL_REACHED" else MAX_TRIALS + 1


cold, warm = Case("cold", [], lambda s: {}), Case("warm", [], lambda s: {})
with tempfile.TemporaryDirectory() as storage, ray_session.connect(None, {"num_cpus": 2}):
    for rep in range(reps(5)):
        seed = 11 + rep
        earlier = search(storage, f"earlier-{rep}", 1000 + seed, EARLIER)
        for case, extra in ((cold, {}), (warm, {"warmStart": {"experimentPath": earlier["experimentPath"]}})):
            out = search(storage, f"{case.name}-{rep}", seed, MAX_TRIALS, stopAt=TARGET, **extra)
            case.runs.append(
                {
                    "seed": seed,
                    "trials": trials_to_target(out),
                    "bestMetric": out["results"].get("bestMetric"),
                    "warmStartedTrials": out["results"].get("warmStartedTrials", 0),
                }
            )
            print(case.name, case.runs[-1], flush=True)

c = statistics.median(r["trials"] for r in cold.runs)
w = statistics.median(r["trials"] for r in warm.runs)
wins = sum(1 for a, b in zip(warm.runs, cold.runs, strict=True) if a["trials"] < b["trials"])
save(
    "warm_start",
    f"new trials to score <= {TARGET} (median of {len(cold.runs)} seeds)",
    [{"what": f"new trials to score <= {TARGET}, warm start ({EARLIER} earlier trials) vs cold, same seed "
      f"(warm fewer in {wins}/{len(cold.runs)}; not reached = {MAX_TRIALS + 1})",
      "raydt": w, "comparison": c, "ratio": ratio(w, c), "target": "ratio < 1"}],
    [cold, warm],
)  # fmt: skip
