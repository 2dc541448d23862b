"""raydt's Optuna searcher as Ray Tune drives it (suggest, on_trial_result, on_trial_complete), without a
running Ray: several objectives, constraints told to the study, branches, given points first, save/restore."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from raydt.runners.tune import algos as tune_algos
from raydt.search.optuna_study import seed
from tests.unit.test_tune_search_results import CONDITIONAL, earlier_search, tune_plan


def drive(searcher: Any, n: int, score: Any) -> list[dict[str, Any]]:
    configs = []
    for i in range(n):
        config = searcher.suggest(f"t{i}")
        configs.append(config)
        result = {**score(config), "training_iteration": 1}
        searcher.on_trial_result(f"t{i}", result)
        searcher.on_trial_complete(f"t{i}", result=result)
    return configs


def test_two_objectives_and_a_constraint_reach_the_study(tmp_path: Path) -> None:
    p = tune_plan(
        tmp_path, metric=["loss", "ms"], mode=["min", "max"], constraints=[{"metric": "ms", "max": 0.5}], seed=1
    )
    searcher = tune_algos.searcher(p, 0, seed(p))
    configs = drive(searcher, 6, lambda c: {"loss": c["lr"], "ms": c["lr"] * 10})
    study = searcher._ot_study  # the study itself: what Optuna was told
    assert study.directions[0].name == "MINIMIZE" and study.directions[1].name == "MAXIMIZE"
    assert [t.values for t in study.trials] == [[c["lr"], c["lr"] * 10] for c in configs]
    for trial, config in zip(study.trials, configs, strict=True):
        assert trial.constraints == {"0:ms:max": config["lr"] * 10 - 0.5}


def test_branches_are_sampled_by_define_by_run_and_points_come_first(tmp_path: Path) -> None:
    point = {"lr": 0.05, "opt": {"name": "adam", "beta1": 0.9}}
    p = tune_plan(tmp_path, searchSpace=CONDITIONAL, metric="score", pointsToEvaluate=[point], seed=2)
    searcher = tune_algos.searcher(p, 0, seed(p))
    configs = drive(searcher, 12, lambda c: {"score": c["lr"]})
    assert configs[0] == {**point, "fixed": 3}
    for config in configs:
        assert set(config) == {"lr", "opt", "fixed"}
        assert set(config["opt"]) == ({"name", "momentum"} if config["opt"]["name"] == "sgd" else {"name", "beta1"})
    assert {c["opt"]["name"] for c in configs} == {"sgd", "adam"}


def test_a_warm_started_searcher_saves_and_restores_with_its_earlier_trials(tmp_path: Path) -> None:
    earlier_search(tmp_path / "before", [{"lr": 0.01}, {"lr": 0.02}, {"lr": 0.03}], [0.5, 0.2, 0.1])
    p = tune_plan(tmp_path, metric="score", warmStart={"experimentPath": str(tmp_path / "before")})
    searcher = tune_algos.searcher(p, 0, seed(p))
    drive(searcher, 1, lambda c: {"score": c["lr"]})
    searcher.save(str(tmp_path / "searcher.pkl"))
    again = tune_algos.searcher(p, 0, seed(p))
    again.restore(str(tmp_path / "searcher.pkl"))
    assert len(again._ot_study.trials) == 3  # two earlier finished trials, one new
    assert again.suggest("t9") is not None
