"""Benchmark 1: 200 trivial trials (one report each) on 2 CPUs.

raydt (its defaults: TPE + ASHA, actor reuse) against the hand-written Ray Tune script with Ray's defaults
(random search, FIFO, a new actor per trial) and against Optuna's in-process loop.
Targets: raydt >= 10x faster than the Ray default, within 3x of Optuna.
"""

from __future__ import annotations

import os

from common import (
    PY,
    RAYDT,
    Case,
    alternate,
    last_json_line,
    median,
    ratio,
    raydt_json,
    reps,
    save,
    spec_file,
    tune_spec,
)

N = int(os.environ.get("BENCH_TRIALS", 200))
spec = tune_spec("../objectives.py:trivial", N)
path = spec_file(spec, "small_trials")
here = os.path.dirname(os.path.abspath(__file__))
cases = [
    Case("raydt", [*RAYDT, "run", path, "--quiet"], raydt_json),
    Case("ray-default", [PY, f"{here}/compare/ray_tune_default.py", str(N), "trivial"], last_json_line),
    Case("optuna", [PY, f"{here}/compare/optuna_loop.py", str(N), "trivial"], last_json_line),
]
if os.environ.get("BENCH_BEFORE"):  # raydt as it was before the speed-ups: no reuse, TensorBoard, dashboard
    before = {**spec, "config": {**spec["config"], "rayInit": {"num_cpus": 2, "include_dashboard": True}}}
    before["tuneConfig"] = {**spec["tuneConfig"], "reuseActors": False}
    before["runConfig"] = {**spec["runConfig"], "tensorboard": True}
    cases.append(Case("raydt-before", [*RAYDT, "run", spec_file(before, "small_trials_before"), "--quiet"], raydt_json))
alternate(cases, reps(3))
r, d, o = (median(c) for c in cases[:3])
extra = []
if len(cases) > 3:
    b = median(cases[3])
    extra.append(
        {
            "what": f"{N} trivial trials: raydt now vs raydt before the speed-ups",
            "raydt": r,
            "comparison": b,
            "ratio": ratio(r, b),
            "target": "(before/after)",
        }
    )
save(
    "small_trials",
    f"{N} trivial trials on 2 CPUs (wall s, whole process incl. Ray start)",
    [*extra,
        {"what": f"{N} trivial trials vs Ray Tune defaults", "raydt": r, "comparison": d, "ratio": ratio(r, d),
         "target": "ratio <= 0.1"},
        {"what": f"{N} trivial trials vs Optuna in-process", "raydt": r, "comparison": o, "ratio": ratio(r, o),
         "target": "ratio <= 3"},
    ],
    cases,
    notes="raydt-before (BENCH_BEFORE=1): reuseActors false, tensorboard true, dashboard on",
)  # fmt: skip
