"""Framework packages: one shape, found through the registry; a missing package names its extra; what a
framework declares it can do is checked before anything launches; the checkpoint format and the
hyperparameter defaults each live in one place."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import re
from pathlib import Path

import pytest

from raydt import frameworks, preflight
from raydt.errors import MissingDependencyError, SpecError
from raydt.frameworks.base import TRIAL_SHAPES, FrameworkAdapter
from raydt.registry import FRAMEWORKS
from raydt.spec import load
from tests.unit.helpers import spec_issues as _issues

SRC = Path(frameworks.__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_missing_framework_package_names_the_extra_to_install() -> None:
    info = dataclasses.replace(FRAMEWORKS["xgboost"], modules=("no_such_package_xyz",))
    with pytest.raises(MissingDependencyError) as exc:
        frameworks.adapter(info)
    assert "no_such_package_xyz" in exc.value.message
    assert "ray-distributed-trainer[xgboost]" in exc.value.hint
    assert exc.value.code == "MISSING_DEPENDENCY"


@pytest.mark.parametrize("name", list(FRAMEWORKS))
def test_every_registered_framework_has_an_adapter_of_the_same_shape(name: str) -> None:
    adapter = frameworks.adapter(FRAMEWORKS[name])
    assert isinstance(adapter, FrameworkAdapter)
    assert callable(adapter.builtin_loop())
    assert adapter.trainer_class().__name__.endswith("Trainer")
    assert isinstance(adapter.worker_env(), dict)
    info = FRAMEWORKS[name]
    assert info.default_metric in info.builtin_metrics
    assert info.epochs_param in info.builtin_params


@pytest.mark.parametrize("name", list(FRAMEWORKS))
def test_every_framework_is_one_package_of_the_same_modules(name: str) -> None:
    info = FRAMEWORKS[name]
    assert info.package == f"raydt.frameworks.{name}" and info.name == name
    assert importlib.import_module(info.package).INFO is info
    folder = SRC / "frameworks" / name
    assert sorted(p.name for p in folder.glob("*.py")) == ["__init__.py", "predictor.py", "trainer.py"]
    loop = importlib.import_module(f"{info.package}.trainer").train_loop
    load = importlib.import_module(f"{info.package}.predictor").load
    assert list(inspect.signature(loop).parameters) == ["config"]
    assert list(inspect.signature(load).parameters) == ["checkpoint_dir", "meta"]
    assert set(info.trial_shapes) <= set(TRIAL_SHAPES)
    assert set(info.param_aliases.values()) <= set(info.builtin_params)
    assert set(info.param_max) | set(info.param_min) <= set(info.builtin_params)


def test_iteration_names_and_the_lightgbm_entry() -> None:
    assert {n: i.iteration_name for n, i in FRAMEWORKS.items()} == {
        "pytorch": "epoch",
        "tensorflow": "epoch",
        "xgboost": "round",
        "lightgbm": "round",
        "lightning": "epoch",
        "transformers": "epoch",
    }
    info = FRAMEWORKS["lightgbm"]
    assert info.trainer_class == "ray.train.lightgbm:LightGBMTrainer" and info.extra == "lightgbm"
    assert {"learning_rate", "num_leaves", "num_boost_round"} <= set(info.builtin_params)  # LightGBM's own names
    assert info.epochs_param == "num_boost_round" and not info.supports_gpu


def test_hyperparameters_are_the_defaults_overlaid_with_the_config() -> None:
    info = FRAMEWORKS["pytorch"]
    got = info.hyperparameters({"learning_rate": 0.5, "_raydt": {"x": 1}})
    assert got == {**info.builtin_params, "lr": 0.5, "_raydt": {"x": 1}}
    assert FRAMEWORKS["lightgbm"].hyperparameters({"numLeaves": 7})["num_leaves"] == 7


def test_the_loops_restate_no_default_and_the_checkpoint_format_is_defined_once() -> None:
    for name, info in FRAMEWORKS.items():
        source = (SRC / "frameworks" / name / "trainer.py").read_text()
        restated = [p for p in info.builtin_params if re.search(rf"config\.get\(\s*['\"]{p}['\"]", source)]
        assert not restated, (name, restated)  # the defaults live in INFO only
    for constant in ('"raydt_meta.json"', '"data_pipeline.pkl"', '"features"'):
        homes = [p for p in SRC.rglob("*.py") if re.search(rf"^\w+ = {constant}", p.read_text(), re.M)]
        assert [p.name for p in homes] == ["checkpoint_format.py"], (constant, homes)


def test_gpu_for_a_framework_that_declares_none_is_a_spec_error() -> None:
    spec = {"mode": "tune", "config": {"useGpu": True}, "trainConfig": {"framework": "lightgbm"}, "tuneConfig": {}}
    (issue,) = [i for i in _issues(spec) if i.path == "config.useGpu"]
    assert (issue.rule, issue.value) == ("framework 'lightgbm' declares no GPU support", True)
    assert "config.useGpu=false" in issue.hint
    load({"mode": "train", "config": {"useGpu": True}, "trainConfig": {"framework": "xgboost"}})  # declares GPUs
    # a broken framework: the check waits for it and says so
    broken = {"mode": "train", "config": {"useGpu": True}, "trainConfig": {"framework": "lightgbn"}}
    notes = [i for i in _issues(broken) if i.path == "trainConfig.framework" and "once it is fixed" in i.rule]
    assert notes and "config.useGpu" in notes[0].hint


def test_declared_capabilities_are_read_by_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    info = FRAMEWORKS["xgboost"]
    monkeypatch.setitem(
        FRAMEWORKS,
        "xgboost",
        dataclasses.replace(info, distributed=False, trial_shapes=("in-trial",), serves_builtin=False),
    )
    two = {"mode": "train", "config": {"numWorkers": 2}, "trainConfig": {"framework": "xgboost"}}
    (issue,) = [i for i in _issues(two) if i.path == "config.numWorkers"]
    assert "declares no distributed training" in issue.rule and issue.value == 2
    tune = {
        "mode": "tune",
        "config": {},
        "trainConfig": {"framework": "xgboost", "trainerPath": f"{FIXTURES}/tune_functions.py:objective"},
        "tuneConfig": {},
    }
    (issue,) = [i for i in _issues(tune) if i.path == "trainConfig.trainerKind"]
    assert "does not run function trials (it runs: in-trial)" in issue.rule
    served = {"mode": "train", "config": {}, "trainConfig": {"framework": "xgboost"}, "serveConfig": {}}
    (issue,) = [i for i in _issues(served) if i.path == "trainConfig.framework"]
    assert "no built-in predictor" in issue.rule and "predictorPath" in issue.hint


def test_preflight_reads_a_served_checkpoints_framework(tmp_path: Path) -> None:
    (tmp_path / "raydt_meta.json").write_text(json.dumps({"framework": "lightgbm"}))
    with pytest.raises(SpecError) as err:
        preflight.check_serving(str(tmp_path), 1.0)
    (issue,) = err.value.issues
    assert issue.path == "serveConfig.resourcesPerReplica.gpu" and issue.value == 1.0
    assert "'lightgbm'" in issue.rule and "declares no GPU support" in issue.rule
    preflight.check_serving(str(tmp_path), 0.0)  # CPU replicas: fine
    (tmp_path / "raydt_meta.json").write_text(json.dumps({"framework": "pytorch"}))
    preflight.check_serving(str(tmp_path), 1.0)  # declares GPUs
    preflight.check_serving(str(tmp_path / "elsewhere"), 1.0)  # not a built-in checkpoint: left to the predictor


def test_lightgbm_network_on_loopback_raylets_names_127_0_0_1() -> None:
    """`raydt cluster up` gives each raylet its own 127.0.0.x, which LightGBM does not find among its interface
    addresses ("Machine list file doesn't contain the local machine"): seen on the slow tier's session cluster."""
    from raydt.frameworks.lightgbm.trainer import loopback_network

    ray_given = {"num_machines": 2, "local_listen_port": 5001, "machines": "127.0.0.2:5001,127.0.0.3:5002"}
    assert loopback_network(ray_given) == {**ray_given, "machines": "127.0.0.1:5001,127.0.0.1:5002"}
    real = {"num_machines": 2, "local_listen_port": 5001, "machines": "10.0.0.5:5001,127.0.0.2:5002"}
    assert loopback_network(real) == real  # another machine in the list: left as Ray wrote it
