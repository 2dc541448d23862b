"""plan: a validated spec -> the concrete values the runners hand to Ray (pure: no Ray, no cluster)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from raydt import plan
from raydt.frameworks.common import RESERVED_KEY
from raydt.registry import FRAMEWORKS
from raydt.spec import loader

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
USER_TRAINER = f"{FIXTURES / 'trainers.py'}:report_and_checkpoint"
SPACE = {"lr": {"type": "loguniform", "min": 1e-4, "max": 1e-1}}


def train_plan(**spec: Any) -> plan.TrainPlan:
    return plan.train(loader.load({"mode": "train", "config": {}, **spec}))


def tune_plan(tune: dict[str, Any] | None = None, **spec: Any) -> plan.TunePlan:
    tc = {"searchSpace": SPACE, **(tune or {})}
    return plan.tune(loader.load({"mode": "tune", "config": {}, "tuneConfig": tc, **spec}))


# -- workers ------------------------------------------------------------------------------------------------


def test_every_worker_gets_explicit_resources() -> None:
    w = train_plan().workers
    assert (w.num_workers, w.use_gpu, w.resources, w.placement_strategy) == (1, False, {"CPU": 1.0}, "PACK")
    gpu = train_plan(config={"numWorkers": 2, "useGpu": True}).workers
    assert gpu.resources == {"CPU": 1.0, "GPU": 1.0} and gpu.total() == {"CPU": 2.0, "GPU": 2.0}


def test_memory_and_custom_resources_use_rays_names() -> None:
    res = {"cpu": 2, "memoryGb": 4, "custom": {"fpga": 1}}
    w = train_plan(config={"numWorkers": 3, "resourcesPerWorker": res}).workers
    assert w.resources == {"CPU": 2.0, "memory": 4e9, "fpga": 1.0}
    assert all(isinstance(v, float) for v in w.resources.values())
    assert w.total() == {"CPU": 6.0, "memory": 12e9, "fpga": 3.0}


def test_scaling_config_supplies_what_config_leaves_out() -> None:
    scaling = {"numWorkers": 2, "resourcesPerWorker": {"cpu": 0.5}, "placementStrategy": "SPREAD"}
    w = train_plan(trainConfig={"scalingConfig": scaling}).workers
    assert (w.num_workers, w.resources, w.placement_strategy) == (2, {"CPU": 0.5}, "SPREAD")


def test_elastic_workers_give_ray_a_min_max_pair() -> None:
    w = train_plan(config={"numWorkers": {"min": 1, "max": 4}}).workers
    assert w.elastic and (w.min_workers, w.num_workers) == (1, 4) and w.ray_num_workers() == (1, 4)
    fixed = train_plan(config={"numWorkers": 3}).workers
    assert not fixed.elastic and fixed.ray_num_workers() == 3


# -- train --------------------------------------------------------------------------------------------------


def test_train_defaults_come_from_the_framework(tmp_path: Path) -> None:
    p = train_plan(runConfig={"storagePath": str(tmp_path)})
    info = FRAMEWORKS["pytorch"]
    assert p.framework is info and p.trainer is None
    assert p.loop_config == info.builtin_params  # every hyperparameter explicit, from the one place
    assert (p.metric, p.metric_mode, p.checkpoint_score) == ("val_loss", "min", ("val_loss", "min"))
    assert p.num_to_keep == 2 and p.max_failures == 2 and p.resume == "auto" and p.pending_timeout_s == 600
    assert p.name.startswith("raydt-train-") and p.experiment_path == os.path.join(str(tmp_path), p.name)


def test_storage_path_is_absolute_and_user_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert train_plan().storage_path == str(tmp_path / "raydt_results")
    monkeypatch.chdir(tmp_path)
    assert train_plan(runConfig={"storagePath": "./out", "name": "r1"}).experiment_path == str(tmp_path / "out" / "r1")


def test_aliases_fold_into_the_builtin_names_and_epochs_sets_its_parameter() -> None:
    given = {"batch_size": 16, "learning_rate": 0.1}
    p = train_plan(trainConfig={"trainLoopConfig": given, "epochs": 3})
    assert p.loop_config == {"lr": 0.1, "batchSize": 16, "epochs": 3, "hiddenSize": 64}


def test_builtin_config_defaults_then_the_spec_then_epochs() -> None:
    info = FRAMEWORKS["pytorch"]
    assert plan.builtin_config(info, {"hidden_size": 8}, None) == {**info.builtin_params, "hiddenSize": 8}
    assert plan.builtin_config(info, {}, 7)[info.epochs_param] == 7
    assert info.builtin_params["epochs"] == 5  # the defaults themselves are not changed


def test_a_user_trainers_loop_config_is_passed_through_untouched() -> None:
    given = {"anything": [1, 2], "batch_size": 4}
    p = train_plan(trainConfig={"trainerPath": USER_TRAINER, "trainLoopConfig": given, "epochs": 2})
    assert p.trainer is not None and p.trainer.function == "report_and_checkpoint"
    assert p.loop_config == {"anything": [1, 2], "batch_size": 4, "epochs": 2}  # no defaults, no aliases


def test_resume_from_checkpoint_reaches_the_loop(tmp_path: Path) -> None:
    user = train_plan(trainConfig={"trainerPath": USER_TRAINER, "resumeFromCheckpoint": str(tmp_path)})
    assert user.loop_config["resumeFromCheckpoint"] == str(tmp_path) and RESERVED_KEY not in user.loop_config
    builtin = train_plan(trainConfig={"resumeFromCheckpoint": str(tmp_path)})
    assert builtin.loop_config[RESERVED_KEY] == {"checkpointFrequency": 1, "resumeFrom": str(tmp_path)}
    every_2 = train_plan(runConfig={"checkpoint": {"frequency": 2}})
    assert every_2.loop_config[RESERVED_KEY] == {"checkpointFrequency": 2, "resumeFrom": None}
    assert RESERVED_KEY not in train_plan().loop_config


def test_run_config_and_metric_choices_reach_the_plan() -> None:
    p = train_plan(
        trainConfig={"metric": "val_accuracy", "metricMode": "max"},
        runConfig={"name": "r", "maxFailures": 0, "checkpoint": {"numToKeep": None, "scoreAttribute": "train_loss"}},
    )
    assert (p.name, p.max_failures, p.num_to_keep) == ("r", 0, None)
    assert (p.metric, p.metric_mode, p.checkpoint_score) == ("val_accuracy", "max", ("train_loss", "max"))


def test_address_from_the_spec_then_ray_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert train_plan().address is None
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert train_plan().address == "10.0.0.1:6379"
    assert train_plan(config={"address": "10.0.0.2:6379"}).address == "10.0.0.2:6379"


# -- tune ---------------------------------------------------------------------------------------------------


def test_searched_keys_leave_the_fixed_config_and_the_tune_metric_wins() -> None:
    p = tune_plan(
        {
            "searchSpace": {**SPACE, "batch_size": {"type": "choice", "values": [16, 32]}},
            "metric": "val_accuracy",
            "mode": "max",
        },
        trainConfig={"epochs": 3, "metric": "val_loss"},
    )
    assert p.train.loop_config == {"epochs": 3, "hiddenSize": 64}  # lr and batchSize (an alias) are searched
    assert (p.train.metric, p.train.metric_mode) == ("val_accuracy", "max")
    assert p.train.name.startswith("raydt-tune-") and p.kind == "train" and p.num_samples == 10


@pytest.mark.parametrize(
    ("tune", "searcher", "reason"),
    [
        ({}, "optuna", "default: TPE"),
        ({"searchAlgorithm": "hyperopt"}, "hyperopt", "searchAlgorithm given in the spec"),
        ({"scheduler": "pbt"}, "random", "'pbt' explores by mutation"),
        ({"searchSpace": {"lr": {"type": "grid", "values": [0.1, 0.01]}}}, "random", "the space has grid values"),
        ({"searchSpace": {"lr": {"type": "normal", "mean": 0.1, "sd": 0.01}}}, "hyperopt", "the space has normal"),
    ],
)
def test_the_searcher_choice_and_its_reason(tune: dict[str, Any], searcher: str, reason: str) -> None:
    p = tune_plan(tune)
    assert p.searcher == searcher and p.choice_reason.startswith(reason), p.choice_reason


def test_a_grid_space_defaults_to_one_sample_and_bohb_brings_hyperband() -> None:
    assert tune_plan({"searchSpace": {"lr": {"type": "grid", "values": [0.1, 0.01]}}}).num_samples == 1
    bohb = tune_plan({"searchAlgorithm": "bohb"})
    assert (bohb.searcher, bohb.scheduler) == ("bohb", "hyperband")


def test_pbt_keeps_every_checkpoint_unless_num_to_keep_is_explicit() -> None:
    assert tune_plan().train.num_to_keep == 2  # asha: the default
    assert tune_plan({"scheduler": "pbt"}).train.num_to_keep is None  # a lagging trial may clone any of them
    assert tune_plan({"scheduler": "pbt"}, runConfig={"checkpoint": {"numToKeep": None}}).train.num_to_keep is None
    assert tune_plan({"scheduler": "asha"}, runConfig={"checkpoint": {"numToKeep": 5}}).train.num_to_keep == 5


def test_max_t_follows_the_epochs() -> None:
    assert tune_plan(trainConfig={"epochs": 3}).scheduler_options == {"max_t": 3}
    assert tune_plan().scheduler_options == {"max_t": FRAMEWORKS["pytorch"].builtin_params["epochs"]}
    assert tune_plan({"scheduler": "hyperband"}, trainConfig={"epochs": 2}).scheduler_options["max_t"] == 2
    searched = {**SPACE, "epochs": {"type": "randint", "min": 1, "max": 4}}
    assert "max_t" not in tune_plan({"searchSpace": searched}).scheduler_options  # no single value
    assert "max_t" not in tune_plan({"scheduler": "fifo"}, trainConfig={"epochs": 3}).scheduler_options
    user = {"trainerPath": USER_TRAINER, "trainLoopConfig": {"epochs": 6}}
    assert tune_plan(trainConfig=user).scheduler_options == {"max_t": 6}


def test_scheduler_options_are_translated_and_an_explicit_max_t_stays() -> None:
    p = tune_plan({"schedulerConfig": {"gracePeriod": 2, "maxT": 10}}, trainConfig={"epochs": 3})
    assert p.scheduler_options == {"grace_period": 2, "max_t": 10}


def test_reuse_of_actors_follows_the_trial_shape() -> None:
    single = tune_plan()
    assert not single.distributed and single.reuse
    many = tune_plan(config={"numWorkers": 2, "resourcesPerWorker": {"cpu": 0.5}})
    assert many.distributed and not many.reuse
    assert tune_plan({"reuseActors": False}).reuse is False
