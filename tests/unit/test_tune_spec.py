"""Tune specs: registry-driven validation, clashing pairs, and the searcher raydt picks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from raydt import plan
from raydt.registry import SCHEDULERS, SEARCHERS
from raydt.spec import load
from raydt.spec.schemas import input_schema
from tests.conftest import FIXTURES, ROOT
from tests.unit.helpers import issues_by_path as issues

LR = {"type": "loguniform", "min": 1e-4, "max": 1e-1}


def tune(space: dict[str, Any] | None = None, workers: int = 1, **tc: Any) -> dict[str, Any]:
    return {
        "mode": "tune",
        "config": {"numWorkers": workers},
        "tuneConfig": {"searchSpace": space if space is not None else {"lr": LR}, **tc},
    }


def test_seed_example_plans_optuna_with_asha() -> None:
    spec = tune(
        {"lr": LR, "batchSize": {"type": "choice", "values": [16, 32, 64]}},
        scheduler="asha",
        numSamples=100,
        metric="val_loss",
        mode="min",
    )
    p = plan.tune(load(spec))
    assert (p.searcher, p.scheduler) == ("optuna", "asha")
    assert p.scheduler_options == {"max_t": 5}  # the built-in trainer's epochs
    assert p.train.loop_config == {"epochs": 5, "hiddenSize": 64}  # searched keys are not fixed
    assert not p.distributed


@pytest.mark.parametrize(
    ("space", "extra", "searcher", "scheduler"),
    [
        ({"lr": {"type": "grid", "values": [0.1, 0.01]}}, {}, "random", "asha"),
        ({"lr": LR}, {"scheduler": "pbt"}, "random", "pbt"),
        ({"lr": {"type": "normal", "mean": 0.05, "sd": 0.01}}, {}, "hyperopt", "asha"),
        ({"lr": LR}, {"searchAlgorithm": "bohb"}, "bohb", "hyperband"),
        ({"lr": LR}, {"scheduler": "fifo"}, "optuna", "fifo"),
    ],
)
def test_default_searcher_fits_the_space(
    space: dict[str, Any], extra: dict[str, Any], searcher: str, scheduler: str
) -> None:
    p = plan.tune(load(tune(space, **extra)))
    assert (p.searcher, p.scheduler) == (searcher, scheduler)
    assert p.choice_reason


def test_scheduler_options_translate_to_ray_arguments() -> None:
    p = plan.tune(load(tune(scheduler="asha", schedulerConfig={"maxT": 9, "gracePeriod": 2, "reductionFactor": 3})))
    assert p.scheduler_options == {"max_t": 9, "grace_period": 2, "reduction_factor": 3}


CLASHES = [
    (tune(scheduler="ashaa"), "tuneConfig.scheduler", "did you mean 'asha'"),
    (tune(searchAlgorithm="optona"), "tuneConfig.searchAlgorithm", "did you mean 'optuna'"),
    (tune(schedulerConfig={"maxt": 3}), "tuneConfig.schedulerConfig.maxt", "did you mean 'maxT'"),
    (tune(scheduler="fifo", schedulerConfig={"maxT": 3}), "tuneConfig.schedulerConfig.maxT", "not an option of 'fifo'"),
    (tune(schedulerConfig={"gracePeriod": 0}), "tuneConfig.schedulerConfig.gracePeriod", "must be >= 1"),
    (tune(schedulerConfig={"maxT": "10"}), "tuneConfig.schedulerConfig.maxT", "must be an int"),
    (tune(searchAlgorithmConfig={"x": 1}), "tuneConfig.searchAlgorithmConfig", "needs tuneConfig.searchAlgorithm"),
    (tune(scheduler="pbt", searchAlgorithm="optuna"), "tuneConfig.searchAlgorithm", "cannot be paired with 'pbt'"),
    (
        tune({"lr": {"type": "grid", "values": [1, 2]}}, searchAlgorithm="optuna"),
        "tuneConfig.searchSpace.lr",
        "Use searchAlgorithm 'random'",
    ),
    (
        tune({"lr": {"type": "normal", "mean": 0.1, "sd": 0.01}}, searchAlgorithm="optuna"),
        "tuneConfig.searchSpace.lr",
        "hyperopt",
    ),
    (tune(searchAlgorithm="bohb", scheduler="asha"), "tuneConfig.scheduler", "own HyperBand"),
    (tune(scheduler="pbt", workers=2), "tuneConfig.scheduler", "numWorkers to 1"),
    (tune({"epochs": 3}, scheduler="pbt"), "tuneConfig.searchSpace", "at least one domain to mutate"),
    (tune({"lr": {"type": "choice", "values": [0.1]}}, scheduler="pb2"), "tuneConfig.searchSpace", "numeric domains"),
    (
        tune({"batchSize": {"type": "uniform", "min": 8, "max": 64}}),
        "tuneConfig.searchSpace.batchSize.type",
        "integer hyperparameter",
    ),
    (tune({"lrr": LR}), "tuneConfig.searchSpace.lrr", "not a hyperparameter of the built-in"),
    (tune({"lr": {"type": "choice", "values": [0.1, -1]}}), "tuneConfig.searchSpace.lr.values[1]", "> 0"),
    (tune(metric="val_acc"), "tuneConfig.metric", "val_accuracy"),
    (tune(maxConcurrentTrials=0), "tuneConfig.maxConcurrentTrials", ">= 1"),
    (tune(timeBudgetS=-5), "tuneConfig.timeBudgetS", "> 0"),
]


@pytest.mark.parametrize(("spec", "path", "needle"), CLASHES, ids=[c[1] + ":" + c[2][:20] for c in CLASHES])
def test_clashes_are_spec_errors_that_say_what_to_use(spec: dict[str, Any], path: str, needle: str) -> None:
    found = issues(spec)
    assert path in found, found
    assert needle in found[path]


def test_tune_function_trainable_is_detected_and_must_be_single_worker() -> None:
    spec = tune({"lr": LR}, workers=2)
    spec["trainConfig"] = {"trainerPath": f"{FIXTURES}/tune_functions.py:objective"}
    assert "config.numWorkers" in issues(spec)
    spec["config"]["numWorkers"] = 1
    assert plan.tune(load(spec)).kind == "tune"
    spec["trainConfig"]["trainerKind"] = "train"
    assert plan.tune(load(spec)).kind == "train"


def test_registries_feed_the_schema_and_every_entry_names_a_ray_class() -> None:
    import importlib

    text = str(input_schema())
    for name in [*SCHEDULERS, *SEARCHERS]:
        assert name in text
    for info in [*SCHEDULERS.values(), *SEARCHERS.values()]:
        module, _, cls = info.target.partition(":")
        if all(importlib.util.find_spec(m) for m in info.modules):
            assert hasattr(importlib.import_module(module), cls), info.target


def test_actor_reuse_defaults_to_in_process_trials_only() -> None:
    assert plan.tune(load(tune(workers=1))).reuse is True
    two = tune(workers=2)
    two["config"]["resourcesPerWorker"] = {"cpu": 0.5}
    assert plan.tune(load(two)).reuse is False  # distributed trials: each runs a Ray Train worker group
    assert plan.tune(load(tune(workers=1, reuseActors=False))).reuse is False
    assert plan.tune(load(two | {"tuneConfig": {**two["tuneConfig"], "reuseActors": True}})).reuse is True
    assert "must be a valid boolean (got 'yes')" in issues(tune(reuseActors="yes"))["tuneConfig.reuseActors"]


def test_tensorboard_and_autoscaling_are_strict_booleans() -> None:
    spec = tune()
    spec["runConfig"] = {"tensorboard": True}
    spec["config"]["autoscaling"] = False
    loaded = load(spec)
    assert loaded.spec.run_config.tensorboard is True and loaded.spec.config.autoscaling is False
    bad = tune()
    bad["runConfig"] = {"tensorboard": 1}
    bad["config"]["autoscaling"] = "auto"
    assert set(issues(bad)) == {"runConfig.tensorboard", "config.autoscaling"}


def test_the_issue_13_conditional_choice_is_now_a_valid_conditional_space() -> None:
    act = {
        "type": "choice",
        "values": [{"activation": "relu", "mult": {"type": "uniform", "min": 1, "max": 2}}, {"activation": "tanh"}],
    }
    spec = tune({"act": act, "x": {"type": "uniform", "min": 0, "max": 1}}, scheduler="fifo")
    spec["trainConfig"] = {"trainerPath": f"{FIXTURES}/tune_functions.py:objective"}
    assert plan.tune(load(spec)).search_space.conditional  # loads: valid
    spec["tuneConfig"]["scheduler"] = "pbt"
    found = issues(spec)
    assert "cannot search a conditional space" in found["tuneConfig.scheduler"], found


@pytest.mark.parametrize("sched", ["pbt", "pb2"])
def test_num_to_keep_is_refused_with_population_based_schedulers(sched: str) -> None:
    spec = tune(scheduler=sched)
    spec["runConfig"] = {"checkpoint": {"numToKeep": 2}}
    found = issues(spec)
    assert set(found) == {"runConfig.checkpoint.numToKeep"}, found
    text = found["runConfig.checkpoint.numToKeep"]
    assert f"'{sched}'" in text and "(got 2)" in text and "Leave it out" in text and "keeps every checkpoint" in text
    spec["runConfig"] = {"checkpoint": {"numToKeep": None}}  # keep all: what PBT needs anyway
    assert plan.tune(load(spec)).scheduler == sched
    del spec["runConfig"]
    assert plan.tune(load(spec)).scheduler == sched  # left out: raydt keeps every checkpoint
    asha = tune(scheduler="asha")
    asha["runConfig"] = {"checkpoint": {"numToKeep": 2}}
    assert plan.tune(load(asha)).scheduler == "asha"


def test_validating_population_based_specs_imports_no_ray() -> None:
    space = {"lr": LR, "batchSize": {"type": "choice", "values": [16, 32]}}
    pbt = tune(space, scheduler="pbt")
    pb2 = tune(space, scheduler="pb2")
    bad = tune(space, scheduler="pbt", workers=2, searchAlgorithm="optuna")
    code = (
        "import sys\n"
        "from raydt.errors import SpecError\n"
        "from raydt.spec import load\n"
        f"load({pbt!r})\n"
        f"load({pb2!r})\n"
        "try:\n"
        f"    load({bad!r})\n"
        "except SpecError as exc:\n"
        "    assert len(exc.issues) >= 2, exc.issues\n"
        "else:\n"
        "    raise AssertionError('the bad pbt spec validated')\n"
        "heavy = sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.'))\n"
        "assert not heavy, heavy[:5]\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_a_search_with_nothing_to_search_is_a_spec_error_at_the_search_space(tmp_path: Path) -> None:
    """Issue 26 item 11: no searchSpace ran identical trials and reported success with bestConfig {}."""
    bare = {
        "mode": "tune",
        "config": {"numWorkers": 1},
        "tuneConfig": {"numSamples": 2, "metric": "val_loss", "mode": "min"},
    }
    for spec in (bare, tune({}, numSamples=2)):
        found = issues(spec)
        assert set(found) == {"tuneConfig.searchSpace"}, found
        assert "is required: without it (or tuneConfig.warmStart) every trial" in found["tuneConfig.searchSpace"]
        assert "loguniform" in found["tuneConfig.searchSpace"] and "mode: train" in found["tuneConfig.searchSpace"]
    # a space that pydantic refused is reported as such, not as missing
    assert "is required" not in issues(tune("lr"))["tuneConfig.searchSpace"]  # type: ignore[arg-type]
    # constants only, or a warm start alone: allowed as before
    plan.tune(load(tune({"epochs": 3})))
    (tmp_path / "earlier").mkdir()
    (tmp_path / "earlier" / "raydt_trials.jsonl").write_text('{"event": "complete", "trial": "a"}\n')
    warm = {**bare, "tuneConfig": {**bare["tuneConfig"], "warmStart": {"experimentPath": str(tmp_path / "earlier")}}}
    assert plan.tune(load(warm)).search.warm_start == str(tmp_path / "earlier")
