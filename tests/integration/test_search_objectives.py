"""raydt.search on a real local Ray (one per session): two objectives and their front, constraints, conditional
spaces with Optuna and random, warm starts and given points, stopping rules. Tiny Tune functions, seconds each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import raydt
from raydt.plan.objectives import Objective, pareto_front, vector
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

FUNCS = f"{ROOT}/tests/fixtures/search_functions.py"
X = {"x": {"type": "uniform", "min": 0.0, "max": 1.0}}


def spec(tmp_path: Path, fn: str, space: dict[str, Any], name: str = "s", **tc: Any) -> dict[str, Any]:
    return {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"trainerPath": f"{FUNCS}:{fn}"},
        "tuneConfig": {"searchSpace": space, "seed": 3, **tc},
        "runConfig": {"storagePath": str(tmp_path), "name": name},
    }


def test_two_objectives_front_matches_brute_force_over_the_finished_trials(shared_ray: None, tmp_path: Path) -> None:
    out = raydt.run(spec(tmp_path, "trade_off", X, metric=["loss", "gap"], mode=["min", "min"], numSamples=8))
    assert out["status"] == "success", out
    r = out["results"]
    assert (r["searchAlgorithm"], r["scheduler"], r["numTrials"]) == ("optuna", "fifo", 8)
    objectives = [Objective("loss", "min"), Objective("gap", "min")]
    points = [vector(objectives, t["lastMetrics"]) for t in out["trials"]]
    expected = [out["trials"][i]["trialId"] for i in pareto_front([p for p in points if p is not None])]
    assert sorted(m["trialId"] for m in r["paretoFront"]) == sorted(expected)
    best = min(r["paretoFront"], key=lambda m: m["values"]["loss"])
    assert r["bestTrialId"] == best["trialId"] and r["bestMetric"] == best["values"]["loss"]
    assert float((Path(out["checkpointPath"]) / "x.txt").read_text()) == r["bestConfig"]["x"]  # that trial's


def test_constraints_exclude_the_unconstrained_optimum(shared_ray: None, tmp_path: Path) -> None:
    out = raydt.run(
        spec(
            tmp_path,
            "trade_off",
            X,
            metric="loss",
            mode="min",
            numSamples=8,
            scheduler="fifo",
            constraints=[{"metric": "ms", "max": 0.25}],
        )
    )
    assert out["status"] == "success", out
    r = out["results"]
    feasible = [t for t in out["trials"] if t["lastMetrics"]["ms"] <= 0.25]
    assert r["feasibleTrials"] == len(feasible) >= 1
    assert r["bestConfig"]["x"] >= 0.5  # the unconstrained optimum (x near 0) is infeasible
    assert r["bestMetric"] == min(t["lastMetrics"]["loss"] for t in feasible)
    lowest = min(out["trials"], key=lambda t: t["lastMetrics"]["loss"])
    assert lowest["lastMetrics"]["ms"] > 0.25 or lowest["trialId"] == r["bestTrialId"]


def test_no_feasible_trial_ends_partial(shared_ray: None, tmp_path: Path) -> None:
    out = raydt.run(
        spec(
            tmp_path,
            "trade_off",
            X,
            metric="loss",
            numSamples=2,
            scheduler="fifo",
            constraints=[{"metric": "ms", "min": 5}],
        )
    )
    assert out["status"] == "partial" and out["error"]["code"] == "NO_FEASIBLE_TRIAL", out
    assert out["results"]["feasibleTrials"] == 0


CONDITIONAL = {
    "lr": {"type": "uniform", "min": 0.0, "max": 0.01},
    "optimizer": {
        "type": "choice",
        "values": [
            {"name": "sgd", "momentum": {"type": "uniform", "min": 0.0, "max": 0.9}},
            {"name": "adam", "beta1": {"type": "uniform", "min": 0.8, "max": 0.99}, "extra": {"eps": 1e-8}},
        ],
    },
}


@pytest.mark.parametrize("algo", ["optuna", "random", "hyperopt"])
def test_conditional_trials_never_see_the_other_branch(shared_ray: None, tmp_path: Path, algo: str) -> None:
    out = raydt.run(
        spec(tmp_path, "conditional", CONDITIONAL, metric="score", numSamples=8, scheduler="fifo", searchAlgorithm=algo)
    )
    assert out["status"] == "success", out  # the trainer raises when it sees the other branch's keys
    seen = {t["config"]["optimizer"]["name"] for t in out["trials"]}
    assert seen == {"sgd", "adam"}, out["trials"]
    best = out["results"]["bestConfig"]["optimizer"]
    assert set(best) == ({"name", "momentum"} if best["name"] == "sgd" else {"name", "beta1", "extra"})


def test_warm_start_seeds_optuna_and_points_run_first(shared_ray: None, tmp_path: Path) -> None:
    cold = raydt.run(spec(tmp_path, "trade_off", X, name="cold", metric="loss", numSamples=4, scheduler="fifo"))
    assert cold["status"] == "success", cold
    wider = {**X, "y": {"type": "uniform", "min": 0.0, "max": 1.0}}
    warm = raydt.run(
        spec(
            tmp_path,
            "trade_off",
            wider,
            name="warm",
            metric="loss",
            numSamples=2,
            scheduler="fifo",
            warmStart={"experimentPath": cold["experimentPath"]},
            pointsToEvaluate=[{"x": 0.123, "y": 0.5}],
            maxConcurrentTrials=1,
        )
    )
    assert warm["status"] == "success", warm
    assert warm["results"]["warmStartedTrials"] == 4 and warm["results"]["numTrials"] == 2
    assert {"x": 0.123, "y": 0.5} in [t["config"] for t in warm["trials"]]


def test_a_trial_that_never_stops_is_cut_at_max_iterations(shared_ray: None, tmp_path: Path) -> None:
    out = raydt.run(
        spec(
            tmp_path,
            "forever",
            {"k": {"type": "choice", "values": [1, 2]}},
            metric="score",
            numSamples=2,
            scheduler="fifo",
            maxIterationsPerTrial=3,
        )
    )
    assert out["status"] == "success", out
    assert [t["iterations"] for t in out["trials"]] == [3, 3]
    stop = raydt.run(
        spec(
            tmp_path,
            "forever",
            {"k": {"type": "choice", "values": [1]}},
            name="t2",
            metric="score",
            numSamples=1,
            scheduler="fifo",
            stop={"step": 5},
        )
    )
    assert stop["trials"][0]["iterations"] == 5


def test_max_failed_trials_ends_the_search_partial_with_what_finished(shared_ray: None, tmp_path: Path) -> None:
    points = [{"x": 0.1}, {"x": 0.9}, {"x": 0.8}, {"x": 0.2}]
    out = raydt.run(
        spec(
            tmp_path,
            "fails_above",
            X,
            metric="loss",
            numSamples=6,
            scheduler="fifo",
            maxFailedTrials=2,
            maxConcurrentTrials=1,
            maxFailuresPerTrial=0,
            pointsToEvaluate=points,
        )
    )
    r = out["results"]
    assert (out["status"], r["endReason"]) == ("partial", "MAX_FAILED_TRIALS"), out
    assert r["failedTrials"] == 2 and r["bestConfig"] == {"x": 0.1}
    assert r["numTrials"] < 6


def _adds_up(out: dict[str, Any], created: int) -> None:
    r = out["results"]
    assert r["numTrials"] == r["completedTrials"] + r["failedTrials"] + r["interruptedTrials"] == len(out["trials"])
    assert r["numTrials"] + r.get("notStartedTrials", 0) <= created
    assert all(isinstance(t["config"].get("x"), float) for t in out["trials"]), out["trials"]


def test_max_failed_trials_with_queued_trials_is_partial_and_its_counts_add_up(
    shared_ray: None, tmp_path: Path
) -> None:
    """Issue 26 item 2 as filed: trials queued when maxFailedTrials ends the search are left out, not TERMINATED
    rows without a config (the result model refused those: INTERNAL)."""
    points = [{"x": 0.1}, {"x": 0.2}, {"x": 0.9}, {"x": 0.8}, {"x": 0.7}]
    out = raydt.run(
        spec(
            tmp_path,
            "fails_above",
            X,
            metric="loss",
            numSamples=8,
            scheduler="fifo",
            maxFailedTrials=2,
            pointsToEvaluate=points,
        )
    )
    r = out["results"]
    assert (out["status"], r["endReason"]) == ("partial", "MAX_FAILED_TRIALS"), out
    assert r["failedTrials"] >= 2 and r["bestConfig"] == {"x": 0.1}  # 0.7 may fail too before the search ends
    assert all(t["config"]["x"] <= 0.5 for t in out["trials"] if t["status"] == "TERMINATED" and t["iterations"])
    _adds_up(out, 8)


def test_max_failed_trials_before_any_report_names_the_exception(shared_ray: None, tmp_path: Path) -> None:
    """Issue 26 item 3 as filed: the failures are the error (USER_CODE_ERROR), not METRIC_NOT_REPORTED."""
    points = [{"x": 0.9}, {"x": 0.8}, {"x": 0.7}, {"x": 0.1}]
    out = raydt.run(
        spec(
            tmp_path,
            "fails_above",
            X,
            metric="loss",
            numSamples=10,
            scheduler="fifo",
            maxFailedTrials=2,
            maxConcurrentTrials=2,
            pointsToEvaluate=points,
        )
    )
    r = out["results"]
    assert out["status"] == "error" and out["error"]["code"] == "USER_CODE_ERROR", out
    assert "RuntimeError: broken for x=0." in out["error"]["message"] and r["endReason"] == "MAX_FAILED_TRIALS"
    assert r["failedTrials"] >= 2
    _adds_up(out, 10)


def test_a_conditional_search_gets_its_report_in_the_run_and_later(shared_ray: None, tmp_path: Path) -> None:
    """Issue 26 item 6 and item 12: runConfig.report on a conditional space writes the report (before: a warning
    only), and `raydt report DIR` later names the searcher, scheduler and concurrency the run used."""
    from raydt.report import write
    from raydt.report.load import read
    from raydt.report.summary import outcome

    tc = {"metric": "score", "numSamples": 8, "maxConcurrentTrials": 2}  # searcher and scheduler: raydt's defaults
    body = spec(tmp_path, "conditional", CONDITIONAL, name="cond", **tc)
    body["runConfig"]["report"] = True
    out = raydt.run(body)
    assert out["status"] == "success", out
    assert Path(out["reportPath"]).is_file(), out
    assert not any("report not written" in w for w in out.get("warnings", [])), out
    later = write(out["experimentPath"], tmp_path / "later")  # no result document: the directory alone
    assert "importance" in {p.stem.removeprefix("report-") for p in later.figures}
    resources = outcome(read(out["experimentPath"])).resources
    r = out["results"]
    assert (resources["searcher"], resources["scheduler"]) == (r["searchAlgorithm"], r["scheduler"])
    assert resources["trials at once"] == out["maxConcurrentTrials"] == 2
