"""raydt.search's spec keys: every bad value at its exact path with a hint, and the plan of the good ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from raydt import plan
from raydt.spec import load
from tests.conftest import FIXTURES
from tests.unit.helpers import issues_by_path as issues

LR = {"type": "loguniform", "min": 1e-4, "max": 1e-1}
OBJECTIVE = f"{FIXTURES}/tune_functions.py:objective"


def tune(space: dict[str, Any] | None = None, trainer: str | None = OBJECTIVE, **tc: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "mode": "tune",
        "config": {"numWorkers": 1},
        "tuneConfig": {"searchSpace": space if space is not None else {"lr": LR}, **tc},
    }
    if trainer:
        spec["trainConfig"] = {"trainerPath": trainer}
    return spec


def test_two_objectives_plan_optuna_with_fifo_and_both_objectives() -> None:
    p = plan.tune(load(tune(metric=["score", "latency"], mode=["min", "max"])))
    assert (p.searcher, p.scheduler) == ("optuna", "fifo")
    assert [(o.metric, o.mode) for o in p.search.objectives] == [("score", "min"), ("latency", "max")]
    assert (p.train.metric, p.train.metric_mode) == ("score", "min") and p.search.multi_objective
    one_mode = plan.tune(load(tune(metric=["score", "latency"], mode="max")))
    assert [o.mode for o in one_mode.search.objectives] == ["max", "max"]


@pytest.mark.parametrize(
    ("tc", "path", "needle"),
    [
        (
            {"metric": ["a", "b"], "mode": ["min"]},
            "tuneConfig.mode",
            "one mode per metric of tuneConfig.metric (2 metric",
        ),
        ({"metric": "a", "mode": ["min", "max"]}, "tuneConfig.mode", "(a single metric)"),
        ({"metric": ["a", "a"], "mode": "min"}, "tuneConfig.metric", "names a metric twice"),
        ({"metric": ["a", "b"], "scheduler": "asha"}, "tuneConfig.scheduler", "ranks trials by one metric"),
        ({"metric": ["a", "b"], "scheduler": "pbt"}, "tuneConfig.scheduler", "'pbt' ranks trials by one metric"),
        ({"metric": ["a", "b"], "scheduler": "pb2"}, "tuneConfig.scheduler", "'pb2' ranks trials by one metric"),
        (
            {"metric": ["a", "b"], "scheduler": "hyperband"},
            "tuneConfig.scheduler",
            "'hyperband' ranks trials by one metric",
        ),
        ({"metric": ["a", "b"], "scheduler": "median"}, "tuneConfig.scheduler", "'median' ranks trials by one metric"),
        ({"metric": ["a", "b"], "searchAlgorithm": "hyperopt"}, "tuneConfig.searchAlgorithm", "runs with Optuna"),
        ({"metric": ["a", "b"], "stopAt": 0.1}, "tuneConfig.stopAt", "needs a single metric"),
        ({"metric": ["a", "b"], "objectiveWeights": [1]}, "tuneConfig.objectiveWeights", "one weight per metric"),
        ({"metric": "a", "objectiveWeights": [1]}, "tuneConfig.objectiveWeights", "(a single metric)"),
        ({"metric": ["a", "b"], "objectiveWeights": [0, 0]}, "tuneConfig.objectiveWeights", "a weight above 0"),
        ({"constraints": [{"metric": "lat"}]}, "tuneConfig.constraints[0]", "needs min and/or max"),
        ({"constraints": [{"metric": "lat", "min": 5, "max": 1}]}, "tuneConfig.constraints[0].min", "must be <= max"),
        ({"metric": [], "mode": "min"}, "tuneConfig.metric", ""),
        ({"maxIterationsPerTrial": 0}, "tuneConfig.maxIterationsPerTrial", ""),
        ({"maxFailedTrials": 0}, "tuneConfig.maxFailedTrials", ""),
        ({"stop": {"score": "high"}}, "tuneConfig.stop.score", ""),
    ],
)
def test_bad_objective_constraint_and_stop_keys_are_refused_at_their_path(
    tc: dict[str, Any], path: str, needle: str
) -> None:
    found = issues(tune(**tc))
    assert path in found, found
    assert needle in found[path]


def test_multi_objective_with_a_grid_names_the_grid_domain() -> None:
    found = issues(tune({"lr": LR, "w": {"type": "grid", "values": [1, 2]}}, metric=["a", "b"]))
    assert "cannot sample 'grid'" in found["tuneConfig.searchSpace.w"], found


def test_built_in_trainers_objectives_and_constrained_metrics_must_be_reported() -> None:
    spec = tune(trainer=None, metric=["val_loss", "latency_ms"], constraints=[{"metric": "gpu_ms", "max": 3}])
    found = issues(spec)
    assert "is not reported by the built-in pytorch trainer" in found["tuneConfig.metric[1]"]
    assert "is not reported by the built-in pytorch trainer" in found["tuneConfig.constraints[0].metric"]


def test_warm_start_from_a_missing_or_non_search_folder_is_refused(tmp_path: Path) -> None:
    found = issues(tune(warmStart={"experimentPath": str(tmp_path / "nope")}))
    assert "does not exist" in found["tuneConfig.warmStart.experimentPath"]
    (tmp_path / "train-run").mkdir()
    found = issues(tune(warmStart={"experimentPath": str(tmp_path / "train-run")}))
    assert "is not a raydt search's experiment folder" in found["tuneConfig.warmStart.experimentPath"]
    (tmp_path / "train-run" / "raydt_trials.jsonl").write_text(json.dumps({"event": "complete", "trial": "a"}))
    ok = tune(warmStart={"experimentPath": str(tmp_path / "train-run")})
    assert plan.tune(load(ok)).search.warm_start == str(tmp_path / "train-run")
    found = issues({**ok, "tuneConfig": {**ok["tuneConfig"], "searchAlgorithm": "random"}})
    assert "a warm-started search runs with Optuna" in found["tuneConfig.searchAlgorithm"]


def test_points_to_evaluate_are_read_against_the_space() -> None:
    space = {
        "lr": LR,
        "opt": {
            "type": "choice",
            "values": [{"name": "sgd", "m": {"type": "uniform", "min": 0, "max": 1}}, {"name": "adam"}],
        },
    }
    good = [{"lr": 0.01, "opt": {"name": "sgd", "m": 0.5}}, {"opt": {"name": "adam"}}]
    assert plan.tune(load(tune(space, pointsToEvaluate=good))).search.points_to_evaluate == tuple(good)
    bad = [{"lr": 5.0}, {"opt": {"name": "sgd", "m": 2}}, {"lrr": 0.01}, {"opt": {"name": "rmsprop"}}]
    found = issues(tune(space, pointsToEvaluate=bad))
    assert "is outside the domain's [0.0001, 0.1]" in found["tuneConfig.pointsToEvaluate[0].lr"]
    assert "is outside the domain's [0, 1]" in found["tuneConfig.pointsToEvaluate[1].opt.m"]
    assert "is not a key of tuneConfig.searchSpace" in found["tuneConfig.pointsToEvaluate[2].lrr"]
    assert "nor matches a branch" in found["tuneConfig.pointsToEvaluate[3].opt"]


def test_a_conditional_space_is_refused_with_bohb_and_population_schedulers() -> None:
    space = {"opt": {"type": "choice", "values": [{"name": "sgd", "m": {"type": "uniform", "min": 0, "max": 1}}]}}
    assert (
        "cannot search a conditional space" in issues(tune(space, searchAlgorithm="bohb"))["tuneConfig.searchAlgorithm"]
    )
    for algo in ("optuna", "hyperopt", "random"):
        assert plan.tune(load(tune(space, searchAlgorithm=algo, scheduler="fifo"))).search_space.conditional


def test_stopping_rules_reach_the_plan() -> None:
    p = plan.tune(load(tune(maxIterationsPerTrial=3, stop={"score": 0.5}, maxFailedTrials=2)))
    assert (p.search.max_iterations_per_trial, p.search.trial_stop, p.search.max_failed_trials) == (
        3,
        {"score": 0.5},
        2,
    )


def test_validating_and_planning_search_keys_imports_neither_ray_nor_optuna(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "raydt_trials.jsonl").write_text("")
    space = {"opt": {"type": "choice", "values": [{"name": "sgd", "m": {"type": "uniform", "min": 0, "max": 1}}]}}
    good = tune(
        space,
        metric=["a", "b"],
        constraints=[{"metric": "c", "max": 1}],
        warmStart={"experimentPath": str(tmp_path)},
        pointsToEvaluate=[{"opt": {"name": "sgd", "m": 0.5}}],
    )
    code = (
        "import json, sys\n"
        "from raydt import plan\n"
        "from raydt.spec import load\n"
        f"plan.tune(load(json.loads({json.dumps(json.dumps(good))})))\n"
        "print(sorted(m for m in ('ray', 'optuna') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stderr
