"""Benchmark 6: time to first result. From starting the command to the first metric a 1-worker Ray Train
run reports (the loop stamps the time of its first report), raydt against the hand-written TorchTrainer
script; both start their own local Ray.
"""

from __future__ import annotations

import os
from pathlib import Path

from common import PY, RAYDT, Case, alternate, median, ratio, reps, save, spec_file

spec = {
    "mode": "train",
    "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
    "trainConfig": {"trainerPath": "../loops.py:stamped", "epochs": 2, "metric": "loss"},
    "runConfig": {"storagePath": "./raydt_results"},
}
path = spec_file(spec, "first_result")
here = os.path.dirname(os.path.abspath(__file__))


def first(workdir: Path, started: float) -> dict[str, float]:
    stamp = float((workdir / "first_report.txt").read_text().split()[0])
    return {"firstResultS": round(stamp - started, 3)}


cases = [
    Case("raydt", [*RAYDT, "run", path, "--quiet"], after=first),
    Case("ray-train", [PY, f"{here}/compare/ray_train_first.py"], after=first),
]
alternate(cases, reps(5))
r, t = median(cases[0], "firstResultS"), median(cases[1], "firstResultS")
save(
    "first_result",
    "time to the first reported metric, 1 worker (s from process start)",
    [{"what": "time to first result, 1-worker train run", "raydt": r, "comparison": t, "ratio": ratio(r, t),
      "target": "ratio <= 0.5 (issue 30: the 1-worker fast path)"}],
    cases,
)  # fmt: skip
