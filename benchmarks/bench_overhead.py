"""Benchmark 2: bookkeeping overhead. 100 trials of exactly 1 s on 2 CPUs: the theoretical minimum is 50 s.

raydt's search time (``trainingTime``: Tuner.fit) against that minimum (target: within 5%), and the
hand-written Ray Tune script with Ray's defaults for reference. Whole-process wall times are recorded too.
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

N = int(os.environ.get("BENCH_TRIALS", 100))
MINIMUM = N * 1.0 / 2
spec = tune_spec("../objectives.py:one_second", N)
path = spec_file(spec, "one_second_trials")
here = os.path.dirname(os.path.abspath(__file__))
cases = [
    Case("raydt", [*RAYDT, "run", path, "--quiet"], raydt_json),
    Case("ray-default", [PY, f"{here}/compare/ray_tune_default.py", str(N), "one_second"], last_json_line),
]
alternate(cases, reps(3))
raydt_fit, default_fit = median(cases[0], "trainingTimeS"), median(cases[1], "fitS")
raydt_wall, default_wall = median(cases[0]), median(cases[1])
save(
    "overhead",
    f"{N} trials of 1 s on 2 CPUs (minimum {MINIMUM:g} s)",
    [
        {"what": f"{N} x 1 s trials: search time vs the {MINIMUM:g} s minimum", "raydt": raydt_fit,
         "comparison": MINIMUM, "ratio": ratio(raydt_fit, MINIMUM), "target": "ratio <= 1.05"},
        {"what": f"{N} x 1 s trials: search time vs Ray Tune defaults", "raydt": raydt_fit,
         "comparison": default_fit, "ratio": ratio(raydt_fit, default_fit), "target": "ratio <= 1"},
        {"what": f"{N} x 1 s trials: whole process vs Ray Tune defaults", "raydt": raydt_wall,
         "comparison": default_wall, "ratio": ratio(raydt_wall, default_wall), "target": "ratio <= 1"},
    ],
    cases,
)  # fmt: skip
