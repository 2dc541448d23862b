"""Every independent problem of a spec in one validation; a check that depends on a broken field waits and says so."""

from __future__ import annotations

from typing import Any

import pytest

from raydt.errors import SpecError, SpecIssue
from raydt.spec import load
from tests.conftest import FIXTURES

WAITS = "checks that depend on this field run once it is fixed"
#: A cross-field problem that depends on nothing else: it shows that the cross-field checks ran.
CANARY = ("trainConfig.scalingConfig.placementStrategy", "unknown placement strategy")


def all_issues(spec: dict[str, Any]) -> list[SpecIssue]:
    with pytest.raises(SpecError) as info:
        load(spec)
    return info.value.issues


def at(issues: list[SpecIssue], path: str) -> list[str]:
    return [str(i) for i in issues if i.path == path]


def notes(issues: list[SpecIssue]) -> dict[str, SpecIssue]:
    return {i.path: i for i in issues if i.rule.startswith("checks that depend on")}


def with_canary(spec: dict[str, Any]) -> dict[str, Any]:
    tc = dict(spec.get("trainConfig", {}))
    tc["scalingConfig"] = {**tc.get("scalingConfig", {}), "placementStrategy": "spread"}
    return {**spec, "trainConfig": tc}


def test_issue_13_spec_reports_everything_in_one_run() -> None:
    spec = {
        "mode": "tune",
        "config": {"numWorkers": "4"},
        "tuneConfig": {
            "scheduler": "ashaa",
            "searchAlgorithm": "optona",
            "searchSpace": {
                "lr": {"type": "loguniform", "min": 0, "max": 0.1},
                "batchSize": {"type": "choice", "values": []},
                "hiddenSize": {"type": "randint", "min": 64, "max": 8},
            },
        },
    }
    paths = {i.path for i in all_issues(spec)}
    assert {
        "config.numWorkers",
        "tuneConfig.scheduler",
        "tuneConfig.searchAlgorithm",
        "tuneConfig.searchSpace.lr.min",
        "tuneConfig.searchSpace.batchSize.values",
        "tuneConfig.searchSpace.hiddenSize.min",
    } <= paths, paths


def test_bad_domains_do_not_hide_the_pair_and_trainer_checks() -> None:
    spec = {
        "mode": "tune",
        "config": {},
        "tuneConfig": {
            "searchSpace": {
                "lr": {"type": "loguniform", "min": 0, "max": 0.1},
                "hiddenSize": {"type": "logunifrom", "min": 8, "max": 64},  # unknown type: must not crash later checks
                "batchSize": {"type": "grid", "values": [16, 32]},
                "dropout": {"type": "uniform", "min": 0.1, "max": 0.5},
            },
            "searchAlgorithm": "optuna",
            "metric": "val_acc",
        },
    }
    issues = all_issues(spec)
    assert at(issues, "tuneConfig.searchSpace.lr.min")
    assert any("did you mean 'loguniform'" in s for s in at(issues, "tuneConfig.searchSpace.hiddenSize.type"))
    assert any("cannot sample 'grid'" in s for s in at(issues, "tuneConfig.searchSpace.batchSize"))
    assert any("not a hyperparameter" in s for s in at(issues, "tuneConfig.searchSpace.dropout"))
    assert any("val_accuracy" in s for s in at(issues, "tuneConfig.metric"))
    assert not at(issues, "tuneConfig.searchSpace.hiddenSize")  # a broken domain gets no second, derived issue


def test_a_type_error_does_not_stop_the_cross_field_checks() -> None:
    spec = with_canary({"mode": "train", "config": {"numWorkers": "4", "resourcesPerWorker": {"cpu": 0}}})
    issues = all_issues(spec)
    assert any("valid integer" in s for s in at(issues, "config.numWorkers"))
    assert any("CPU-only worker" in s for s in at(issues, "config.resourcesPerWorker.cpu"))
    assert any(CANARY[1] in s for s in at(issues, CANARY[0]))
    assert not notes(issues)  # nothing depended on numWorkers here


def test_a_broken_framework_makes_the_trainer_checks_wait_and_says_so() -> None:
    spec = with_canary(
        {"mode": "train", "config": {}, "trainConfig": {"framework": "xgbost", "trainLoopConfig": {"maxDepth": 4}}}
    )
    issues = all_issues(spec)
    assert any("must be one of" in s for s in at(issues, "trainConfig.framework"))
    assert not at(issues, "trainConfig.trainLoopConfig.maxDepth")  # not judged against the default (pytorch)
    note = notes(issues)["trainConfig.framework"]
    assert note.rule == WAITS and "trainConfig.trainLoopConfig" in note.hint
    assert at(issues, CANARY[0])


# Each case breaks a field that another check reads: that check must wait (no false problem from the
# default the repair put in its place), and the canary shows that the independent checks still ran.
NO_FALSE_PROBLEM = [
    (
        "useGpu",
        {"mode": "train", "config": {"useGpu": "yes", "resourcesPerWorker": {"gpu": 1}}},
        "config.useGpu",
        ["config.resourcesPerWorker.gpu"],
    ),
    (
        "twin-numWorkers",
        {"mode": "train", "config": {"numWorkers": "2"}, "trainConfig": {"scalingConfig": {"numWorkers": 2}}},
        "config.numWorkers",
        ["trainConfig.scalingConfig.numWorkers"],
    ),
    (
        "trainerPath",
        {"mode": "train", "config": {}, "trainConfig": {"trainerPath": "", "trainLoopConfig": {"units": 3}}},
        "trainConfig.trainerPath",
        ["trainConfig.trainLoopConfig.units"],
    ),
    (
        "searchSpace-not-object",
        {"mode": "tune", "config": {}, "tuneConfig": {"scheduler": "pbt", "searchSpace": [1]}},
        "tuneConfig.searchSpace",
        [],
    ),
    (
        "trainerKind",
        {
            "mode": "tune",
            "config": {"numWorkers": 2},
            "trainConfig": {"trainerPath": f"{FIXTURES}/tune_functions.py:objective", "trainerKind": "function"},
            "tuneConfig": {"searchSpace": {"x": {"type": "uniform", "min": 0, "max": 1}}},
        },
        "trainConfig.trainerKind",
        ["config.numWorkers"],
    ),
    (
        "serve-checkpointPath",
        {"mode": "serve", "config": {}, "serveConfig": {"checkpointPath": 5}},
        "serveConfig.checkpointPath",
        ["serveConfig"],
    ),
    (
        "tuneConfig-not-object",
        {"mode": "tune", "config": {}, "tuneConfig": "asha"},
        "tuneConfig",
        [],
    ),
    (
        "data-label",
        {"mode": "train", "config": {}, "dataConfig": {"train": {"format": "csv", "paths": ".", "label": 5}}},
        "dataConfig.train.label",
        [],
    ),
]


@pytest.mark.parametrize(
    ("spec", "broken", "silent"), [c[1:] for c in NO_FALSE_PROBLEM], ids=[c[0] for c in NO_FALSE_PROBLEM]
)
def test_repair_reports_no_false_problem(spec: dict[str, Any], broken: str, silent: list[str]) -> None:
    issues = all_issues(with_canary(spec))
    own = [i for i in issues if i.path == broken and i.rule != WAITS]
    assert len(own) == 1, [str(i) for i in issues]  # the field's own problem, and nothing derived from its default
    for path in silent:
        assert not at(issues, path), [str(i) for i in issues]
    assert at(issues, CANARY[0]), [str(i) for i in issues]
    pydantic_paths = {broken}
    derived = [i for i in issues if i.path not in pydantic_paths and i.path != CANARY[0]]
    assert all(i.rule == WAITS for i in derived), [str(i) for i in derived]


def test_a_broken_mode_runs_the_checks_that_do_not_need_it() -> None:
    spec = with_canary({"mode": "trian", "config": {"resourcesPerWorker": {"cpu": 0}}, "tuneConfig": {}})
    issues = all_issues(spec)
    assert any("did you mean 'train'" in s for s in at(issues, "mode"))
    assert at(issues, "config.resourcesPerWorker.cpu") and at(issues, CANARY[0])
    assert notes(issues)["mode"].rule == WAITS
    assert not at(issues, "tuneConfig")  # neither 'required' nor 'does not apply': that depends on the mode


def test_missing_mode_and_config_still_run_the_independent_checks() -> None:
    issues = all_issues(with_canary({}))
    assert at(issues, "mode") and at(issues, "config") and at(issues, CANARY[0])


def test_unknown_scheduler_and_searcher_make_their_options_wait() -> None:
    spec = {
        "mode": "tune",
        "config": {},
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "loguniform", "min": 1e-4, "max": 0.1}},
            "scheduler": "pbtt",
            "schedulerConfig": {"perturbationInterval": 2},
            "searchAlgorithm": "optona",
            "searchAlgorithmConfig": {"nStartupTrials": 3},
            "timeBudgetS": 0,
        },
    }
    issues = all_issues(spec)
    assert not at(issues, "tuneConfig.schedulerConfig.perturbationInterval")  # not judged against asha
    assert not at(issues, "tuneConfig.searchAlgorithmConfig")  # it does name a searcher, a misspelt one
    assert any("did you mean 'pbt'" in s for s in at(issues, "tuneConfig.scheduler"))
    assert any("did you mean 'optuna'" in s for s in at(issues, "tuneConfig.searchAlgorithm"))
    assert at(issues, "tuneConfig.timeBudgetS")  # a pydantic error in the same run
    found = notes(issues)
    assert "tuneConfig.schedulerConfig" in found["tuneConfig.scheduler"].hint
    assert "tuneConfig.searchAlgorithmConfig" in found["tuneConfig.searchAlgorithm"].hint


def test_a_misspelt_key_makes_the_checks_of_the_key_it_resembles_wait() -> None:
    spec = with_canary(
        {
            "mode": "tune",
            "config": {"numWorker": 2},
            "tuneConfig": {"scheduler": "pbt", "searchSpace": {"lr": {"type": "uniform", "min": 0.1, "max": 0.5}}},
        }
    )
    issues = all_issues(spec)
    assert any("did you mean 'numWorkers'" in s for s in at(issues, "config.numWorker"))
    assert "tuneConfig.scheduler" in notes(issues)["config.numWorker"].hint  # the pbt worker rule waits
    assert at(issues, CANARY[0])


def test_notes_and_repaired_issues_keep_the_skill_prefix() -> None:
    inner = {"mode": "train", "config": {"useGpu": 1, "resourcesPerWorker": {"gpu": 1}}}
    issues = all_issues({"kind": "skill", "skill": {"context": with_canary(inner)}})
    paths = {i.path for i in issues}
    assert {"skill.context.config.useGpu", "skill.context." + CANARY[0]} <= paths
    assert notes(issues)["skill.context.config.useGpu"].rule == WAITS


def test_a_broken_scaling_worker_count_makes_the_pbt_rule_wait_instead_of_crashing() -> None:
    spec = {
        "mode": "tune",
        "config": {},
        "trainConfig": {"scalingConfig": {"numWorkers": "2"}},
        "tuneConfig": {"scheduler": "pbt", "searchSpace": {"lr": {"type": "uniform", "min": 0.1, "max": 0.2}}},
    }
    issues = all_issues(spec)  # raised AttributeError ('str' has no 'max') before
    assert any("integer >= 1" in s for s in at(issues, "trainConfig.scalingConfig.numWorkers"))
    assert "tuneConfig.scheduler" in notes(issues)["trainConfig.scalingConfig.numWorkers"].hint


def test_a_refused_validation_source_makes_the_split_rule_wait(tmp_path: Any) -> None:
    (tmp_path / "t.csv").write_text("a,y\n1,0\n")
    src = {"format": "csv", "paths": str(tmp_path / "t.csv"), "label": "y"}
    data = {"train": src, "validation": {**src, "format": "xls"}, "validationSplit": 0.2}
    issues = all_issues({"mode": "train", "config": {}, "dataConfig": data})
    assert at(issues, "dataConfig.validation.format")
    assert not at(issues, "dataConfig.validationSplit")
    assert "dataConfig.validationSplit" in notes(issues)["dataConfig.validation.format"].hint
