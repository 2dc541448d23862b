"""ray_config: the Ray config objects built from representative plans (constructed, never run: no Ray starts),
and Ray's environment settings, set for a run or a connection only and restored after it, however it ends."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from raydt import plan, ray_config
from raydt.progress import ProgressView
from raydt.spec import loader

SRC = Path(__file__).resolve().parents[2] / "src" / "raydt"
SPACE = {"lr": {"type": "loguniform", "min": 1e-4, "max": 1e-1}}
SETTING = "RAYDT_TEST_RAY_SETTING"


def train_plan(tmp_path: Path, **spec: Any) -> plan.TrainPlan:
    return plan.train(loader.load({"mode": "train", "config": {}, "runConfig": {"storagePath": str(tmp_path)}, **spec}))


def tune_plan(tmp_path: Path, **tune: Any) -> plan.TunePlan:
    spec = {"mode": "tune", "config": {}, "tuneConfig": {"searchSpace": SPACE, **tune}}
    return plan.tune(loader.load({**spec, "runConfig": {"storagePath": str(tmp_path)}}))


# -- Ray's config objects ---------------------------------------------------------------------------------------


def test_scaling_gives_every_worker_explicit_resources_and_the_placement(tmp_path: Path) -> None:
    p = train_plan(
        tmp_path,
        config={"numWorkers": 2, "resourcesPerWorker": {"cpu": 2, "memoryGb": 1}},
        trainConfig={"scalingConfig": {"placementStrategy": "SPREAD", "acceleratorType": "A100"}},
    )
    s = ray_config.scaling(p.workers)
    assert (s.num_workers, s.use_gpu, s.placement_strategy, s.accelerator_type) == (2, False, "SPREAD", "A100")
    assert s.resources_per_worker == {"CPU": 2.0, "memory": 1e9}


def test_scaling_of_an_elastic_run_is_a_min_max_pair(tmp_path: Path) -> None:
    p = train_plan(tmp_path, config={"numWorkers": {"min": 2, "max": 4}})
    assert ray_config.scaling(p.workers).num_workers == (2, 4)


def test_train_run_keeps_the_best_checkpoints_and_bounds_the_controller(tmp_path: Path) -> None:
    p = train_plan(
        tmp_path,
        runConfig={"name": "r1", "storagePath": str(tmp_path), "maxFailures": 3, "checkpoint": {"numToKeep": 2}},
    )
    from ray.train import UserCallback

    callbacks = [UserCallback()]
    r = ray_config.train_run(p, callbacks, {"SWITCH": "1"}, controller_failure_limit=0)
    assert (r.name, r.storage_path, r.callbacks) == ("r1", str(tmp_path), callbacks)
    c = r.checkpoint_config
    assert (c.num_to_keep, c.checkpoint_score_attribute, c.checkpoint_score_order) == (2, "val_loss", "min")
    assert (r.failure_config.max_failures, r.failure_config.controller_failure_limit) == (3, 0)
    assert r.worker_runtime_env == {"env_vars": {"SWITCH": "1"}}


def test_a_distributed_trials_own_run_keeps_its_latest_checkpoint_under_the_experiment(tmp_path: Path) -> None:
    p = train_plan(tmp_path)
    r = ray_config.train_run(p, [], {}, name="exp-t1", storage_path=f"{p.experiment_path}/train_runs", keep_latest=1)
    assert (r.name, r.storage_path) == ("exp-t1", f"{p.experiment_path}/train_runs")
    assert (r.checkpoint_config.num_to_keep, r.checkpoint_config.checkpoint_score_attribute) == (1, None)
    assert r.failure_config.max_failures == p.max_failures and not r.worker_runtime_env  # Ray's default limit


def test_tune_run_is_tunes_own_run_config(tmp_path: Path) -> None:
    from ray import tune

    tp = tune_plan(tmp_path, maxFailuresPerTrial=1, metric="val_loss", mode="min")
    stop = object()
    r = ray_config.tune_run(tp.train, tp.max_failures_per_trial, stop, [])
    assert isinstance(r, tune.RunConfig) and (r.name, r.storage_path, r.stop, r.verbose) == (
        tp.train.name,
        str(tmp_path),
        stop,
        0,
    )
    assert isinstance(r.checkpoint_config, tune.CheckpointConfig)
    assert (r.checkpoint_config.checkpoint_score_attribute, r.checkpoint_config.checkpoint_score_order) == (
        "val_loss",
        "min",
    )
    assert r.failure_config.max_failures == 1


# -- Ray's environment settings ---------------------------------------------------------------------------------


def test_run_env_of_a_train_run_and_of_a_search(tmp_path: Path) -> None:
    p = train_plan(tmp_path, runConfig={"storagePath": str(tmp_path), "pendingTimeoutS": 42})
    assert ray_config.run_env(p) == {"RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S": "42.0"}
    assert ray_config.run_env(tune_plan(tmp_path).train, search=True) == {
        "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
        "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",
    }
    assert ray_config.FAST_TRAIN_ENV == {"RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.2"}
    assert ray_config.token_auth_env("/t/token") == {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": "/t/token",
        "RAY_AUTH_TOKEN": None,
    }


def test_each_mode_hands_its_run_env_to_the_skeleton(tmp_path: Path) -> None:
    from raydt.runners.train import TrainMode
    from raydt.runners.tune import TuneMode

    p, tp = train_plan(tmp_path), tune_plan(tmp_path)
    assert TrainMode.ray_env(SimpleNamespace(train_plan=p)) == ray_config.run_env(p)  # type: ignore[arg-type]
    assert TuneMode.ray_env(SimpleNamespace(p=tp)) == ray_config.run_env(tp.train, search=True)  # type: ignore[arg-type]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAYDT_TEST_KEPT", "before")
    monkeypatch.setenv("RAYDT_TEST_UNSET", "before")
    monkeypatch.delenv("RAYDT_TEST_NEW", raising=False)


@pytest.mark.usefixtures("env")
def test_scoped_env_sets_for_the_block_then_restores_however_it_ends() -> None:
    values = {"RAYDT_TEST_KEPT": "during", "RAYDT_TEST_NEW": "during", "RAYDT_TEST_UNSET": None}
    for fails in (False, True):
        with pytest.raises(RuntimeError) if fails else _nothing():
            with ray_config.scoped_env(values):
                assert os.environ["RAYDT_TEST_KEPT"] == os.environ["RAYDT_TEST_NEW"] == "during"
                assert "RAYDT_TEST_UNSET" not in os.environ
                if fails:
                    raise RuntimeError("the run failed")
        assert os.environ["RAYDT_TEST_KEPT"] == os.environ["RAYDT_TEST_UNSET"] == "before"
        assert "RAYDT_TEST_NEW" not in os.environ


@pytest.mark.usefixtures("env")
def test_scoped_env_keep_set_lets_the_users_value_win() -> None:
    with ray_config.scoped_env({"RAYDT_TEST_KEPT": "ours", "RAYDT_TEST_NEW": "ours"}, keep_set=True):
        assert (os.environ["RAYDT_TEST_KEPT"], os.environ["RAYDT_TEST_NEW"]) == ("before", "ours")
    assert os.environ["RAYDT_TEST_KEPT"] == "before" and "RAYDT_TEST_NEW" not in os.environ


@contextmanager
def _nothing() -> Iterator[None]:
    yield


class FakeMode:
    """A mode whose fit records what the environment held, and fails when asked to."""

    def __init__(self, p: plan.TrainPlan, fails: bool) -> None:
        self.train_plan, self.fails, self.seen = p, fails, ""

    def describe(self) -> str:
        return "fake"

    def connection(self) -> Any:
        from raydt.runners import skeleton

        return skeleton.Connection(dashboard=False, env_vars={}, warm=())

    def ray_env(self) -> dict[str, str]:
        return {SETTING: "this run"}

    def admit(self, status: dict[str, Any], view: ProgressView) -> Any:
        from raydt.runners import skeleton

        return skeleton.Admission((), 0.0)

    def fit(self, p: plan.TrainPlan, datasets: Any, status: dict[str, Any]) -> dict[str, Any]:
        self.seen = os.environ.get(SETTING, "")
        if self.fails:
            raise RuntimeError("the run failed")
        return {"status": "success"}


@pytest.mark.parametrize("fails", [False, True])
def test_a_runs_ray_settings_do_not_outlive_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: bool) -> None:
    """The skeleton sets the mode's ``ray_env`` around its fit only: the next run in this process (the API, the MCP
    server, tests) starts from the environment as it was."""
    from raydt.runners import skeleton

    @contextmanager
    def connect(*_: Any, **__: Any) -> Iterator[None]:
        yield

    monkeypatch.setattr(skeleton.preflights, "training", lambda *_: [])
    monkeypatch.setattr(skeleton.ray_session, "connect", connect)
    monkeypatch.setattr(
        skeleton.ray_session, "cluster_status", lambda *_: {"numNodes": 1, "totalCpu": 2.0, "totalGpu": 0.0}
    )
    monkeypatch.setattr(skeleton.preflight, "check_storage", lambda *_: None)
    monkeypatch.setattr(skeleton.data, "attach", lambda loaded, config, *_: (None, config, None))
    monkeypatch.setattr(skeleton.experiment, "save_spec", lambda *_, **__: None)
    monkeypatch.delenv(SETTING, raising=False)
    loaded = loader.load({"mode": "train", "config": {}, "runConfig": {"storagePath": str(tmp_path)}})
    mode = FakeMode(plan.train(loaded), fails)
    with pytest.raises(RuntimeError) if fails else _nothing():
        skeleton.run(loaded, ProgressView(), mode)
    assert mode.seen == "this run" and SETTING not in os.environ


def test_a_connection_sets_fast_train_env_for_itself_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ray_session.connect`` (with a stand-in ``ray``: nothing starts) sets FAST_TRAIN_ENV before ``ray.init``,
    keeps a value the user set, and restores the environment after ``ray.shutdown``."""
    from raydt import ray_session

    ((key, value),) = ray_config.FAST_TRAIN_ENV.items()
    seen: dict[str, str | None] = {}
    fake = ModuleType("ray")
    fake.is_initialized = lambda: False  # type: ignore[attr-defined]
    fake.init = lambda **_: seen.update(init=os.environ.get(key))  # type: ignore[attr-defined]
    fake.shutdown = lambda: seen.update(shutdown=os.environ.get(key))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.delenv(key, raising=False)
    with ray_session.connect("local"):
        assert os.environ[key] == value
    assert seen == {"init": value, "shutdown": value} and key not in os.environ
    monkeypatch.setenv(key, "1.5")
    with ray_session.connect("local"):
        assert os.environ[key] == "1.5"
    assert os.environ[key] == "1.5"


def test_only_ray_config_writes_rays_settings_into_the_environment() -> None:
    """Every RAY_* / TUNE_* variable raydt sets is built in ray_config and set through ``scoped_env``."""
    writes = re.compile(
        r"""os\.environ\[\s*["'](RAY|TUNE)_\w*["']\s*\]\s*=(?!=)|\.setdefault\(\s*["'](RAY|TUNE)_|putenv\("""
        r"""|environ\.update\(FAST"""
    )
    found = [
        f"{path.relative_to(SRC)}:{n}: {line.strip()}"
        for path in SRC.rglob("*.py")
        if path.name != "ray_config.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if writes.search(line)
    ]
    assert not found, found


def test_only_a_run_that_trains_gives_its_workers_a_job_wide_runtime_env() -> None:
    """Ray Train's settings reach a training job's workers; a predict run goes without the runtime env (its workers
    start ~0.7 s sooner each: benchmarks/bench_predict.py)."""
    from raydt import ray_session

    trains = ray_session._init_kwargs(None, {}, False, {})
    assert trains["runtime_env"]["env_vars"] == ray_config.FAST_TRAIN_ENV
    assert "runtime_env" not in ray_session._init_kwargs(None, {}, False, {}, train=False)
    switched = ray_session._init_kwargs(None, {}, False, {"SWITCH": "1"}, train=False)
    assert switched["runtime_env"]["env_vars"] == {"SWITCH": "1"}
