"""Each flag and hook of a registry row drives the behaviour it claims: a new searcher or scheduler is a row (plus
an optional build hook), and the plan, validation and the runners follow its flags without naming it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from raydt import plan
from raydt.errors import SpecError, SpecIssue
from raydt.registry import FRAMEWORKS, SCHEDULERS, SEARCHERS, OwnScheduler, SchedulerInfo, SearcherInfo
from raydt.registry import load as load_target
from raydt.runners import preflights
from raydt.runners.tune import algos as tune_algos
from raydt.spec import load
from tests.unit.test_tune_search_results import tune_plan

HERE = "tests.unit.test_registry_hooks"
SPACE = {"lr": {"type": "uniform", "min": 0.001, "max": 0.5}}


class Recorder:
    """A stand-in Ray class: keeps the keyword arguments it was built with."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


class OwnRecorder(Recorder):
    """A searcher's own variant of a scheduler class."""


def refuse_everything(spec: Any, base_dirs: tuple[Path, ...], wait: Any) -> list[SpecIssue]:
    """A framework's own spec checks (FrameworkInfo.spec_checks)."""
    return [SpecIssue("trainConfig.framework", "refused by the framework's own checks", spec.train_config.framework)]


def searcher_row(**flags: Any) -> SearcherInfo:
    return SearcherInfo("fake", f"{HERE}:Recorder", {}, "a fake searcher", model_based=False, **flags)


CALLS: list[tuple[Any, ...]] = []


def build_searcher(p: plan.TunePlan, info: SearcherInfo, seeded: Any) -> Any:
    """A searcher row's build hook, named by ``"module:function"`` as the registry's rows name theirs."""
    CALLS.append((p.searcher, info.name, seeded))
    return "built"


def build_scheduler(p: plan.TunePlan, info: SchedulerInfo) -> Any:
    return ("hook", info.name)


def test_a_searcher_row_with_a_build_hook_is_built_by_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    CALLS.clear()
    monkeypatch.setitem(SEARCHERS, "fake", searcher_row(build=f"{HERE}:build_searcher"))
    p = replace(tune_plan(tmp_path, searchSpace=SPACE, metric="score"), searcher="fake")
    assert tune_algos.searcher(p, 0, "the study") == "built"
    assert CALLS == [("fake", "fake", "the study")]


def test_every_build_hook_the_registry_names_is_a_function() -> None:
    hooks = [row.build for row in [*SCHEDULERS.values(), *SEARCHERS.values()] if row.build is not None]
    assert len(hooks) >= 3 and all(callable(load_target(hook)) for hook in hooks), hooks


def test_a_searcher_row_without_a_hook_gets_its_class_options_points_seed_and_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(SEARCHERS, "fake", searcher_row(seed_arg="rng", takes_cap=True))
    base = tune_plan(tmp_path, searchSpace=SPACE, metric="score", seed=3, pointsToEvaluate=[{"lr": 0.1}])
    found = tune_algos.searcher(replace(base, searcher="fake", searcher_options={"opt": 1}), 2)
    assert isinstance(found, Recorder)  # takes_cap: the cap is its own argument, no ConcurrencyLimiter around it
    assert found.kwargs == {"opt": 1, "points_to_evaluate": [{"lr": 0.1}], "max_concurrent": 2, "rng": 3}


def test_without_takes_cap_the_cap_is_rays_concurrency_limiter(tmp_path: Path) -> None:
    p = tune_plan(tmp_path, searchSpace=SPACE, metric="score", searchAlgorithm="hyperopt")
    assert not SEARCHERS["hyperopt"].takes_cap
    assert type(tune_algos.searcher(p, 2)).__name__ == "ConcurrencyLimiter"
    assert type(tune_algos.searcher(p, 0)).__name__ == "HyperOptSearch"


def test_define_by_run_empties_tunes_param_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = replace(tune_plan(tmp_path, searchSpace=SPACE, metric="score"), searcher="fake")
    monkeypatch.setitem(SEARCHERS, "fake", searcher_row(define_by_run=True))
    assert tune_algos.param_space(p) == {}
    monkeypatch.setitem(SEARCHERS, "fake", searcher_row())
    assert set(tune_algos.param_space(p)) == {"lr"}


def test_a_scheduler_row_is_built_by_its_hook_else_from_its_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = SchedulerInfo("fake", f"{HERE}:Recorder", {}, "a fake scheduler")
    p = replace(tune_plan(tmp_path, searchSpace=SPACE, metric="score"), scheduler="fake", scheduler_options={"a": 1})
    monkeypatch.setitem(SCHEDULERS, "fake", row)
    built = tune_algos.scheduler(p)
    assert isinstance(built, Recorder) and built.kwargs == {"a": 1}
    monkeypatch.setitem(SCHEDULERS, "fake", replace(row, build=f"{HERE}:build_scheduler"))
    assert tune_algos.scheduler(p) == ("hook", "fake")


def test_a_searchers_own_scheduler_is_chosen_refused_elsewhere_and_built_by_its_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = OwnScheduler("median", f"{HERE}:OwnRecorder", "Median")
    monkeypatch.setitem(SEARCHERS, "hyperopt", replace(SEARCHERS["hyperopt"], own_scheduler=own))
    p = tune_plan(tmp_path, searchSpace=SPACE, metric="score", searchAlgorithm="hyperopt")
    assert p.scheduler == "median"  # brought along: the spec names no scheduler
    assert isinstance(tune_algos.scheduler(p), OwnRecorder)
    with pytest.raises(SpecError) as info:
        tune_plan(tmp_path, searchSpace=SPACE, metric="score", searchAlgorithm="hyperopt", scheduler="asha")
    assert any("'hyperopt' runs with its own Median scheduler" in i.rule for i in info.value.issues)


def spec_of(mode: str, **parts: Any) -> dict[str, Any]:
    return {"mode": mode, "config": {}, **parts}


def test_epochs_arg_sets_the_option_the_epochs_count_fills(monkeypatch: pytest.MonkeyPatch) -> None:
    tune = {"searchSpace": SPACE, "scheduler": "median"}
    spec = spec_of("tune", trainConfig={"epochs": 3}, tuneConfig=tune)
    assert plan.tune(load(spec)).scheduler_options == {}
    monkeypatch.setitem(SCHEDULERS, "median", replace(SCHEDULERS["median"], epochs_arg="min_time_slice"))
    assert plan.tune(load(spec)).scheduler_options == {"min_time_slice": 3}
    given = spec_of("tune", trainConfig={"epochs": 3}, tuneConfig={**tune, "schedulerConfig": {"minTimeSlice": 7}})
    assert plan.tune(load(given)).scheduler_options == {"min_time_slice": 7}


def test_needs_bounds_refuses_a_space_without_numeric_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_of(
        "tune", tuneConfig={"searchSpace": {"lr": {"type": "choice", "values": [0.1, 0.2]}}, "scheduler": "pbt"}
    )
    load(spec)  # PBT mutates a choice
    monkeypatch.setitem(SCHEDULERS, "pbt", replace(SCHEDULERS["pbt"], needs_bounds=True))
    with pytest.raises(SpecError) as info:
        load(spec)
    assert [i.rule for i in info.value.issues] == ["'pbt' needs numeric domains with min/max"]


def test_seeded_study_seeds_before_ray_and_is_checked_by_doctor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from raydt.search.optuna_study import seed

    p = tune_plan(tmp_path, searchSpace=SPACE, metric="score")
    assert p.searcher == "optuna" and [step.name for step in preflights.search(p)] == ["search seed"]
    assert seed(p).storage is not None
    monkeypatch.setitem(SEARCHERS, "optuna", replace(SEARCHERS["optuna"], seeded_study=False))
    assert preflights.search(p) == [] and seed(p).storage is None


def test_a_frameworks_spec_checks_hook_replaces_the_built_in_trainers_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_of("train", trainConfig={"framework": "xgboost"})
    load(spec)
    monkeypatch.setitem(FRAMEWORKS, "xgboost", replace(FRAMEWORKS["xgboost"], spec_checks=f"{HERE}:refuse_everything"))
    with pytest.raises(SpecError) as info:
        load(spec)
    assert [i.rule for i in info.value.issues] == ["refused by the framework's own checks"]
    with_trainer = {
        "mode": "train",
        "config": {},
        "trainConfig": {"framework": "xgboost", "trainerPath": "nowhere.py:train"},
    }
    with pytest.raises(SpecError) as info:  # a trainerPath is the user's own loop: the framework's rules wait
        load(with_trainer)
    assert all("framework's own" not in i.rule for i in info.value.issues)


def test_doctor_and_the_report_list_every_frameworks_distributions(monkeypatch: pytest.MonkeyPatch) -> None:
    from raydt.diagnose import host
    from raydt.report import load as report_load
    from raydt.report import summary

    assert host.PACKAGES[0] == "ray" and "lightning" in host.PACKAGES
    assert {d for info in FRAMEWORKS.values() for d in info.distributions} == set(host.PACKAGES[1:])
    monkeypatch.setitem(FRAMEWORKS, "lightning", replace(FRAMEWORKS["lightning"], distributions=("dist-a", "dist-b")))
    monkeypatch.setattr(summary.metadata, "version", lambda dist: "1.0")
    exp = report_load.Experiment(Path("x"), "train", {"trainConfig": {"framework": "lightning"}}, "val_loss", "min")
    env = summary.environment(exp)
    assert {"dist-a", "dist-b"} <= set(env) and env["framework"] == "lightning"
