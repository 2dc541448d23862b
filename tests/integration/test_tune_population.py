"""Schedulers that keep a population or brackets (PBT, HyperBand) get every sample, on a real local Ray.

With 2 CPUs and 1-CPU trials only 2 trials fit at once; the rest must exist (pending or paused) so
that PBT can rotate its whole population and HyperBand can fill its brackets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import raydt
from tests.conftest import ROOT, assert_seed_output
from tests.integration.test_tune import tune_spec

pytestmark = pytest.mark.slow


def test_pbt_creates_the_whole_population_beyond_what_fits(shared_ray: None, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    trace.mkdir()
    space = {"lr": {"type": "uniform", "min": 0.0, "max": 1.0}, "steps": 6, "sleep": 0.1, "trace": str(trace)}
    spec = tune_spec(
        tmp_path,
        space,
        trainer=f"{ROOT}/tests/fixtures/tune_functions.py:traced",
        scheduler="pbt",
        numSamples=8,
        seed=3,
        schedulerConfig={"perturbationInterval": 2, "quantileFraction": 0.25, "timeAttr": "training_iteration"},
    )
    out = raydt.run(spec)
    assert_seed_output(out)
    assert out["status"] == "success", out
    assert out["maxConcurrentTrials"] == 2  # what fits at once ...
    r = out["results"]
    assert (r["numTrials"], r["completedTrials"]) == (8, 8)  # ... but the whole population existed
    assert all(t["iterations"] == 6 for t in out["trials"])
    # a population, not a queue: every member started before the first one finished (PBT paused and resumed them)
    starts = [float(f.read_text()) for f in trace.glob("*.start")]
    ends = [float(f.read_text()) for f in trace.glob("*.end")]
    assert len(starts) == 8 and len(ends) == 8
    assert max(starts) < min(ends)
    assert r["endReason"] == "ALL_TRIALS_DONE"
    assert r["searchAlgorithm"] == "random"  # PBT explores by mutation: Ray's variant generator
    log = Path(out["experimentPath"]) / "pbt_global.txt"
    assert log.is_file() and log.read_text().strip()  # PBT recorded at least one exploit


def test_hyperband_fills_brackets_and_stops_trials_early(shared_ray: None, tmp_path: Path) -> None:
    space = {"lr": {"type": "uniform", "min": 0.0, "max": 1.0}, "steps": 9}
    spec = tune_spec(
        tmp_path,
        space,
        scheduler="hyperband",
        searchAlgorithm="random",
        numSamples=6,
        seed=0,
        timeBudgetS=150,  # Ray's HyperBand can leave a trial paused at max_t (RAY-NOTES): never a hang
        schedulerConfig={"maxT": 9, "reductionFactor": 3},
    )
    out = raydt.run(spec)
    assert_seed_output(out)
    assert out["results"]["numTrials"] == 6
    stopped = [t for t in out["trials"] if t.get("stoppedEarly")]
    assert stopped, out["trials"]  # brackets were filled, so successive halving cut some trials
    assert all(t["iterations"] < 9 for t in stopped)
