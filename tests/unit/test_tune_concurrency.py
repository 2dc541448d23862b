"""How many trials run at once, and whether Tune may create them all (pure: a plan and a cluster status)."""

from __future__ import annotations

from typing import Any

import pytest

from raydt import plan
from raydt.runners.tune.concurrency import plan_concurrency as _concurrency
from raydt.spec import loader

TWO_CPUS = {"nodes": [{"cpu": 2.0, "gpu": 0.0, "memoryBytes": 8e9}], "autoscaler": None}


def tune_plan(scheduler: str, workers: int = 1, cpu: float = 1.0, **tc: Any) -> plan.TunePlan:
    spec = {
        "mode": "tune",
        "config": {"numWorkers": workers, "resourcesPerWorker": {"cpu": cpu}},
        "trainConfig": {"epochs": 2},
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "uniform", "min": 0.001, "max": 0.1}},
            "scheduler": scheduler,
            "numSamples": 8,
            **tc,
        },
    }
    return plan.tune(loader.load(spec))


@pytest.mark.parametrize("scheduler", ["pbt", "pb2", "hyperband"])
def test_population_and_bracket_schedulers_create_every_sample(scheduler: str) -> None:
    conc = _concurrency(tune_plan(scheduler), TWO_CPUS)
    assert conc.running == 2 and not conc.cap_creation and not conc.notes


@pytest.mark.parametrize("scheduler", ["asha", "fifo", "median"])
def test_other_schedulers_create_what_fits(scheduler: str) -> None:
    conc = _concurrency(tune_plan(scheduler), TWO_CPUS)
    assert conc.running == 2 and conc.cap_creation


def test_asking_for_more_than_fits_is_said() -> None:
    conc = _concurrency(tune_plan("asha", maxConcurrentTrials=6), TWO_CPUS)
    assert conc.running == 2
    assert any("maxConcurrentTrials is 6 but only 2 trial(s) fit" in n for n in conc.notes)


def test_distributed_trials_with_brackets_stay_capped_and_say_why() -> None:
    conc = _concurrency(tune_plan("hyperband", workers=2, cpu=0.5), TWO_CPUS)
    assert conc.cap_creation and conc.running == 2  # 2 x 0.5 CPU per trial: two trials on 2 CPUs
    assert any("outside Tune's resource accounting" in n for n in conc.notes)
    whole = _concurrency(tune_plan("hyperband", workers=2, cpu=1), TWO_CPUS)
    assert whole.running == 1  # 2 x 1 CPU: one trial, its own process holding no CPU beside the workers


def test_an_explicit_cap_with_pbt_shrinks_the_population_and_says_so() -> None:
    conc = _concurrency(tune_plan("pbt", maxConcurrentTrials=2), TWO_CPUS)
    assert conc.cap_creation and any("population of 2" in n for n in conc.notes)


def test_a_grid_runs_its_points_at_once() -> None:
    """numSamples 1 over a grid of 5 values is 5 trials: as many at once as fit, not one."""
    grid = {"lr": {"type": "grid", "values": [0.1, 0.2, 0.3, 0.4, 0.5]}}
    assert _concurrency(tune_plan("asha", searchSpace=grid, numSamples=1), TWO_CPUS).running == 2
    assert _concurrency(tune_plan("asha", numSamples=1), TWO_CPUS).running == 1  # one sample, no grid: one trial
