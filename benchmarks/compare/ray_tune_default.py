"""The hand-written Ray Tune script for N one-report trials, with Ray Tune's defaults as its docs show them.

python benchmarks/compare/ray_tune_default.py N trivial|one_second
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import objectives  # noqa: E402
import ray  # noqa: E402
from ray import tune  # noqa: E402

n, name = int(sys.argv[1]), sys.argv[2]
start = time.perf_counter()
ray.init(num_cpus=2)
tuner = tune.Tuner(
    getattr(objectives, name),
    param_space={"x": tune.uniform(0.0, 1.0)},
    tune_config=tune.TuneConfig(metric="score", mode="min", num_samples=n),
    run_config=tune.RunConfig(storage_path=os.path.abspath("ray_results"), verbose=0),
)
fit_start = time.perf_counter()
grid = tuner.fit()
fit_s = time.perf_counter() - fit_start
best = grid.get_best_result()
result = {"numTrials": len(grid), "bestMetric": best.metrics["score"], "fitS": fit_s}
print(json.dumps({**result, "inScriptS": time.perf_counter() - start}))
