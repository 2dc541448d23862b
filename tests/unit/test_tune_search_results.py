"""raydt.search without Ray running: Pareto fronts against brute force, constraints and the pick of the best
trial in a summarized search (fake ResultGrid), the Optuna study a warm start builds, define-by-run sampling."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import optuna
import pytest

from raydt import plan, results, space
from raydt.errors import SpecError
from raydt.plan import objectives
from raydt.plan.objectives import Constraint, Objective
from raydt.runners.tune import results as search_results
from raydt.runners.tune.results import LEDGER_FILE
from raydt.search import warm
from raydt.search.optuna_study import seed
from raydt.spec import loader
from tests.conftest import FIXTURES
from tests.unit.test_tune_results import FakeGrid, FakeResult, done, write_ledger


def summarize(p: plan.TunePlan, grid: Any, elapsed: float, goal_reached: bool = False) -> dict[str, Any]:
    """The search's result as it is printed (the runner's typed Document, dumped)."""
    return search_results.summarize(p, grid, elapsed, goal_reached).dump()


def tune_plan(tmp_path: Path, **tune: Any) -> plan.TunePlan:
    """A search of a Tune function (any metric names), its experiment in tmp_path/exp."""
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1},
        "trainConfig": {"trainerPath": f"{FIXTURES}/tune_functions.py:objective"},
        "runConfig": {"storagePath": str(tmp_path), "name": "exp"},
        "tuneConfig": {"searchSpace": {"lr": {"type": "loguniform", "min": 1e-4, "max": 1e-1}}, **tune},
    }
    return plan.tune(loader.load(spec))


def brute_front(points: list[list[float]]) -> list[int]:
    """Indices no other point is <= on all and < on one objective: the definition, spelled out."""
    out = []
    for i, p in enumerate(points):
        beaten = False
        for j, q in enumerate(points):
            if j != i and all(a <= b for a, b in zip(q, p, strict=True)) and q != p:
                beaten = True
        if not beaten:
            out.append(i)
    return out


def test_pareto_front_matches_brute_force_on_random_points() -> None:
    rng = random.Random(7)
    for _ in range(200):
        points = [[rng.randint(0, 6) for _ in range(rng.choice((2, 3)))] for _ in range(rng.randint(1, 9))]
        dims = len(points[0])
        points = [p[:dims] + [0] * (dims - len(p)) for p in points]
        assert objectives.pareto_front(points) == brute_front(points), points


def test_pick_is_the_best_on_the_first_objective_or_the_lowest_weighted_sum() -> None:
    points = [[1.0, 9.0], [2.0, 2.0], [9.0, 1.0]]
    assert objectives.pick(points, [0, 1, 2], None) == 0
    assert objectives.pick(points, [0, 1, 2], [1.0, 1.0]) == 1
    assert objectives.pick(points, [0, 1, 2], [0.0, 1.0]) == 2


def test_constraints_measure_each_bound_and_a_missing_metric_is_infeasible() -> None:
    c = Constraint("lat", min=1.0, max=5.0)
    assert c.violations({"lat": 3.0}) == [-2.0, -2.0] and objectives.feasible([c], {"lat": 3.0})
    assert c.violations({"lat": 7.0}) == [-6.0, 2.0] and not objectives.feasible([c], {"lat": 7.0})
    assert not objectives.feasible([c], {"other": 1.0}) and not objectives.feasible([c], {"lat": None})
    assert c.describe() == "1 <= lat <= 5"


def two_objectives(tmp_path: Path, **extra: Any) -> tuple[Any, FakeGrid]:
    p = tune_plan(tmp_path, metric=["val_loss", "ms"], mode=["min", "min"], numSamples=5, **extra)
    trials = {"a": (0.1, 90.0), "b": (0.2, 40.0), "c": (0.3, 45.0), "d": (0.5, 10.0), "e": (0.6, 10.0)}
    write_ledger(tmp_path, *done(*trials))
    grid = FakeGrid(
        [
            FakeResult(t, [{"val_loss": v + 1, "ms": m}, {"val_loss": v, "ms": m}], {"lr": i})
            for i, (t, (v, m)) in enumerate(trials.items())
        ]
    )
    return p, grid


def test_a_two_objective_search_reports_the_front_of_last_reports(tmp_path: Path) -> None:
    p, grid = two_objectives(tmp_path)
    out = summarize(p, grid, 1.0)
    assert results.problems(out) == [] and out["status"] == "success"
    front = out["results"]["paretoFront"]
    assert [m["trialId"] for m in front] == ["a", "b", "d"]  # c is beaten by b, e by d
    assert front[1] == {"trialId": "b", "config": {"lr": 1}, "values": {"val_loss": 0.2, "ms": 40.0}}
    assert (out["results"]["bestTrialId"], out["results"]["bestMetric"]) == ("a", 0.1)  # best on the first


def test_objective_weights_pick_the_front_member_with_the_lowest_weighted_sum(tmp_path: Path) -> None:
    p, grid = two_objectives(tmp_path, objectiveWeights=[10.0, 1.0])
    out = summarize(p, grid, 1.0)
    assert out["results"]["bestTrialId"] == "d"  # 5 + 10 beats a (1 + 90) and b (2 + 40)
    assert out["results"]["bestConfig"] == {"lr": 3} and out["results"]["bestMetric"] == 0.5


def test_constraints_exclude_the_unconstrained_optimum_from_best_and_front(tmp_path: Path) -> None:
    p, grid = two_objectives(tmp_path, constraints=[{"metric": "ms", "max": 42}])
    out = summarize(p, grid, 1.0)
    assert out["results"]["feasibleTrials"] == 3
    assert [m["trialId"] for m in out["results"]["paretoFront"]] == ["b", "d"]
    assert out["results"]["bestTrialId"] == "b"
    single = tune_plan(tmp_path, metric="val_loss", constraints=[{"metric": "ms", "max": 42}])
    assert summarize(single, grid, 1.0)["results"]["bestTrialId"] == "b"


def test_no_feasible_trial_is_partial_with_the_constraints_in_the_message(tmp_path: Path) -> None:
    p, grid = two_objectives(tmp_path, constraints=[{"metric": "ms", "min": 100}])
    out = summarize(p, grid, 1.0)
    assert results.problems(out) == []
    assert out["status"] == "partial" and out["results"]["feasibleTrials"] == 0
    assert out["error"]["code"] == "NO_FEASIBLE_TRIAL" and "100 <= ms" in out["error"]["message"]
    assert "bestConfig" not in out["results"]


def test_max_failed_trials_in_the_ledger_ends_the_search_partial(tmp_path: Path) -> None:
    p = tune_plan(tmp_path, maxFailedTrials=1)
    write_ledger(tmp_path, *done("a"), {"event": "error", "trial": "b"}, {"event": "maxFailed"})
    grid = FakeGrid([FakeResult("a", [{"val_loss": 0.3}]), FakeResult("b", [], error=RuntimeError("boom"))])
    out = summarize(p, grid, 1.0)
    assert out["results"]["endReason"] == "MAX_FAILED_TRIALS" and out["status"] == "partial"
    assert any("maxFailedTrials" in w for w in out["warnings"])


CONDITIONAL = {
    "lr": {"type": "loguniform", "min": 1e-4, "max": 1e-1},
    "opt": {
        "type": "choice",
        "values": [
            {"name": "sgd", "momentum": {"type": "uniform", "min": 0.0, "max": 0.9}},
            {"name": "adam", "beta1": {"type": "uniform", "min": 0.8, "max": 0.99}},
        ],
    },
    "fixed": 3,
}


def test_define_by_run_samples_only_the_chosen_branch() -> None:
    from raydt.search.optuna import SpaceFunction

    fn = SpaceFunction(space.parse(CONDITIONAL))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    names = set()
    for _ in range(30):
        trial = study.ask()
        fn(trial)
        assert fn.last is not None
        config = fn.last
        names.add(config["opt"]["name"])
        keys = set(config["opt"])
        assert keys == ({"name", "momentum"} if config["opt"]["name"] == "sgd" else {"name", "beta1"}), config
        assert config["fixed"] == 3 and 1e-4 <= config["lr"] <= 1e-1
        study.tell(trial, config["lr"])
    assert names == {"sgd", "adam"}


def earlier_search(folder: Path, configs: list[dict[str, Any]], scores: list[float]) -> None:
    folder.mkdir()
    ledger = []
    for i, (config, score) in enumerate(zip(configs, scores, strict=True)):
        trial = folder / f"trial_{i:08x}_{i + 1:05d}_x"
        trial.mkdir()
        (trial / "params.json").write_text(json.dumps(config))
        rows = [{"score": score + 1, "trial_id": f"t{i}"}, {"score": score, "trial_id": f"t{i}"}]
        (trial / "result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
        ledger.append({"event": "complete" if i < len(configs) - 1 else "error", "trial": f"t{i}"})
    (folder / LEDGER_FILE).write_text("".join(json.dumps(e) + "\n" for e in ledger))


def test_warm_start_gives_every_finished_trial_to_the_study(tmp_path: Path) -> None:
    configs = [
        {"lr": 0.01, "opt": {"name": "sgd", "momentum": 0.5}, "old": 1},
        {"lr": 0.02, "opt": {"name": "adam", "beta1": 0.9}},
        {"lr": 0.03, "opt": {"name": "adam", "beta1": 0.9}},  # errored: left out
    ]
    earlier_search(tmp_path / "before", configs, [0.5, 0.2, 0.1])
    assert [t.trial_id for t in warm.finished_trials(str(tmp_path / "before"))] == ["t0", "t1"]
    p = tune_plan(
        tmp_path, searchSpace=CONDITIONAL, metric="score", warmStart={"experimentPath": str(tmp_path / "before")}
    )
    seeded = seed(p)
    assert seeded.warm_started == 2
    assert any("old" in w and "dropped" in w for w in seeded.warnings)
    study = optuna.load_study(study_name="raydt", storage=seeded.storage)
    assert sorted(t.values[0] for t in study.trials) == [0.2, 0.5]
    assert {"opt": 0, "opt.0.momentum": 0.5, "lr": 0.01} == study.trials[0].params


def test_warm_start_values_outside_the_new_space_are_left_out_or_refused_when_none_fit(tmp_path: Path) -> None:
    earlier_search(tmp_path / "before", [{"lr": 0.5}, {"lr": 0.5}], [0.1, 0.1])
    p = tune_plan(tmp_path, metric="score", warmStart={"experimentPath": str(tmp_path / "before")})
    with pytest.raises(SpecError) as info:
        seed(p)
    issue = info.value.issues[0]
    assert issue.path == "tuneConfig.warmStart.experimentPath" and "is outside the domain's" in issue.rule
    earlier_search(tmp_path / "narrowed", [{"lr": 0.5}, {"lr": 0.01}, {"lr": 0.02}], [0.1, 0.2, 0.3])
    p = tune_plan(tmp_path, metric="score", warmStart={"experimentPath": str(tmp_path / "narrowed")})
    seeded = seed(p)  # a narrowed space: the trial it cannot hold is left out, the one that fits seeds it
    assert seeded.warm_started == 1 and any("1 earlier trial(s) lie outside" in w for w in seeded.warnings)


def test_objectives_are_ordered_first_metric_first() -> None:
    assert Objective("a", "max").signed(2.0) == -2.0 and Objective("a", "min").signed(2.0) == 2.0
    assert list(itertools.islice(objectives.pareto_front([[1, 1], [1, 1]]), 2)) == [0, 1]  # equal points: both kept
