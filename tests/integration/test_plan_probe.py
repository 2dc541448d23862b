"""``raydt plan --probe`` against reality: a probed plan of a small search (4 trials of a trainer that sleeps 1 s per
iteration, 2 at a time) estimates the wall time of the measured ``raydt run`` of the same spec within 0.5x-2x; the
run's ``results.cost`` is the price x its measured wall time x the CPUs it reserved; a second plan reads the run's
own times back (basis history). On the slow tier's session cluster, so the target is a running cluster."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli

pytestmark = pytest.mark.slow

#: The stated factor: the estimate is within [1/FACTOR, FACTOR] x the measured wall time.
FACTOR = 2.0


def test_a_probed_plan_is_within_a_factor_of_the_measured_run(tmp_path: Path) -> None:
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}, "costPerHour": {"cpu": 0.5}},
        "trainConfig": {"trainerPath": f"{FIXTURES}/tune_functions.py:paced", "epochs": 4,
                        "trainLoopConfig": {"sleep": 1.0}},
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "uniform", "min": 0.0, "max": 1.0}}, "numSamples": 4,
            "maxConcurrentTrials": 2, "scheduler": "fifo", "searchAlgorithm": "random", "metric": "score",
            "mode": "min", "seed": 0,
        },
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": "paced"},
    }  # fmt: skip
    path = tmp_path / "paced.json"
    path.write_text(json.dumps(spec))

    planned = run_cli("plan", str(path), "--probe")
    assert planned.code == 0, planned.out
    plan = planned.out["plan"]
    assert plan["target"]["kind"] == "address"  # the session cluster, as the run finds it
    assert (plan["numTrials"], plan["concurrency"]["trialsAtOnce"], plan["estimate"]["waves"]) == (4, 2, 2)
    estimate = plan["estimate"]
    assert estimate["basis"] == "probe" and 0.8 <= estimate["perIterationS"] <= 1.5, estimate
    assert not (tmp_path / "results").exists()  # the probe ran in a temporary folder of its own, removed

    started = time.monotonic()
    ran = run_cli("run", str(path))
    measured = time.monotonic() - started
    assert ran.code == 0, ran.out
    ratio = estimate["wallTimeS"] / measured
    print(f"estimate {estimate['wallTimeS']:.1f}s, measured {measured:.1f}s, ratio {ratio:.2f}")
    assert 1 / FACTOR <= ratio <= FACTOR, (estimate, measured)

    cost = ran.out["results"]["cost"]
    assert cost["perHour"] == 0.5 * 2 and cost["billed"] == {"cpu": 2.0}  # 2 trials of 1 CPU at once
    assert cost["spent"] == pytest.approx(cost["perHour"] * cost["wallTimeS"] / 3600, abs=1e-6)
    assert ran.out["trainingTime"] <= cost["wallTimeS"] <= measured
    assert plan["cost"]["estimated"] == pytest.approx(cost["perHour"] * estimate["wallTimeS"] / 3600, abs=1e-6)

    again = run_cli("plan", str(path))  # the experiment has run: its own times
    assert again.code == 0 and again.out["plan"]["estimate"]["basis"] == "history"
    assert 1 / FACTOR <= again.out["plan"]["estimate"]["wallTimeS"] / measured <= FACTOR
