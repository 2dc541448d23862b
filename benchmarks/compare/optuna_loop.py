"""Optuna used directly, in one process: the same objective, TPE (Optuna's default sampler).

python benchmarks/compare/optuna_loop.py N trivial|one_second [N_JOBS]
"""

import json
import sys
import time

import optuna

n, name = int(sys.argv[1]), sys.argv[2]


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    if name == "one_second":
        time.sleep(1.0)
    return (x - 0.3) ** 2


start = time.perf_counter()
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(direction="minimize")
study.optimize(objective, n_trials=n, n_jobs=int(sys.argv[3]) if len(sys.argv) > 3 else 1)
print(
    json.dumps(
        {"numTrials": len(study.trials), "bestMetric": study.best_value, "inScriptS": time.perf_counter() - start}
    )
)
