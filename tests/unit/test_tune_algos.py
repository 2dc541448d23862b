"""The searcher, scheduler and loggers a search hands Ray Tune, built from the plan and driven as Tune drives
them (suggest / on_trial_complete), without a running Ray. What these check needs no cluster: a seed makes a
model-based searcher suggest the same configs, each searcher/scheduler pairing builds Ray's own objects, and the
TensorBoard flag adds Ray's TBX logger and nothing else. (A real search with each pairing that matters runs in
the slow tier: tests/integration/test_tune.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from raydt.runners.tune import _loggers
from raydt.runners.tune import algos as tune_algos
from raydt.search.optuna_study import seed
from tests.unit.test_tune_search_results import tune_plan

SPACE = {"lr": {"type": "loguniform", "min": 1e-4, "max": 1.0}, "steps": 2}


def suggestions(tmp_path: Path, searcher_name: str, seed_value: int, n: int = 4) -> list[float]:
    """``n`` configs from a fresh searcher built as a search builds it, each trial told its score."""
    p = tune_plan(tmp_path, searchSpace=SPACE, searchAlgorithm=searcher_name, seed=seed_value, metric="score")
    searcher = tune_algos.searcher(p, 1, seed(p) if searcher_name == "optuna" else None)
    searcher.set_search_properties("score", "min", tune_algos.param_space(p))
    found = []
    for i in range(n):
        config = searcher.suggest(f"t{i}")
        assert config is not None, f"{searcher_name} suggested nothing for trial {i}"
        found.append(float(config["lr"]))
        result = {"score": (config["lr"] - 0.01) ** 2, "training_iteration": 1}
        searcher.on_trial_complete(f"t{i}", result=result)
    return found


@pytest.mark.parametrize("searcher_name", ["optuna", "hyperopt"])
def test_a_seed_makes_a_model_based_searcher_reproducible(tmp_path: Path, searcher_name: str) -> None:
    first = suggestions(tmp_path / "a", searcher_name, 7)
    assert suggestions(tmp_path / "b", searcher_name, 7) == first
    assert suggestions(tmp_path / "c", searcher_name, 8) != first  # the seed, not a constant, decides
    assert all(1e-4 <= lr <= 1.0 for lr in first) and len(set(first)) == 4


@pytest.mark.parametrize(
    ("tune", "searcher_class", "scheduler_class"),
    [
        ({"scheduler": "median"}, "RaydtOptunaSearch", "MedianStoppingRule"),
        ({"searchAlgorithm": "bohb"}, "TuneBOHB", "HyperBandForBOHB"),
        ({"scheduler": "pb2", "schedulerConfig": {"perturbationInterval": 2}}, "BasicVariantGenerator", "PB2"),
        ({"scheduler": "hyperband"}, "RaydtOptunaSearch", "HyperBandScheduler"),
        ({"scheduler": "pbt"}, "BasicVariantGenerator", "PopulationBasedTraining"),
        ({}, "RaydtOptunaSearch", "AsyncHyperBandScheduler"),
    ],
)
def test_each_pairing_builds_rays_own_searcher_and_scheduler(
    tmp_path: Path, tune: dict[str, Any], searcher_class: str, scheduler_class: str
) -> None:
    p = tune_plan(tmp_path, searchSpace={"lr": {"type": "uniform", "min": 0.001, "max": 0.5}}, metric="score", **tune)
    searcher = tune_algos.searcher(p, 0, seed(p) if p.searcher == "optuna" else None)
    scheduler = tune_algos.scheduler(p)
    assert type(searcher).__name__ == searcher_class
    assert type(scheduler).__name__ == scheduler_class
    if scheduler_class == "PB2":  # PB2 explores inside the space's bounds, PBT mutates over its domains
        assert scheduler._hyperparam_bounds == {"lr": [0.001, 0.5]}
    if scheduler_class == "PopulationBasedTraining":
        assert set(scheduler._hyperparam_mutations) == {"lr"}


def test_tensorboard_adds_rays_tbx_logger_and_csv_json_are_always_written() -> None:
    plain = [type(cb).__name__ for cb in _loggers(False)]
    assert plain == ["CSVLoggerCallback", "JsonLoggerCallback"]
    assert [type(cb).__name__ for cb in _loggers(True)] == [*plain, "TBXLoggerCallback"]


def test_the_tensorboard_flag_reaches_the_plan(tmp_path: Path) -> None:
    from raydt import plan
    from raydt.spec import loader
    from tests.conftest import FIXTURES

    spec: dict[str, Any] = {
        "mode": "tune",
        "config": {},
        "trainConfig": {"trainerPath": f"{FIXTURES}/tune_functions.py:objective"},
        "tuneConfig": {"searchSpace": SPACE, "metric": "score"},
    }
    assert plan.tune(loader.load(spec)).train.tensorboard is False
    spec["runConfig"] = {"tensorboard": True}
    assert plan.tune(loader.load(spec)).train.tensorboard is True


def test_a_search_pickled_before_the_move_unpickles_its_callbacks() -> None:
    """Tuner.restore unpickles the callbacks by the module path they had when the experiment started."""
    import pickle

    from raydt.runners import tune as tune_runner

    tune_runner.old_module_paths()
    assert set(tune_runner.OLD_MODULE_PATHS) == {"raydt.runners." + "tune_watch", "raydt.runners." + "tune_memory"}
    for old, new in tune_runner.OLD_MODULE_PATHS.items():
        for name in ("TrialLedger", "SearchStopper", "MemoryGuard"):
            module = __import__(new, fromlist=[name])
            if hasattr(module, name):
                assert pickle.loads(f"c{old}\n{name}\n.".encode()) is getattr(module, name)
