"""Loud checks of every non-public Ray API raydt uses (all of them live in the raydt/ray_compat/ package), and of
every registry option against the Ray class it is passed to. A failure names the Ray version: a Ray
upgrade starts here."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path
from types import SimpleNamespace

import pytest

ray = pytest.importorskip("ray")
VERSION = f"Ray {ray.__version__} changed a non-public API raydt relies on (see raydt/ray_compat/): "


def test_ray_train_failure_policy_hook() -> None:
    from ray.train.v2._internal.execution.failure_handling import DefaultFailurePolicy, FailureDecision
    from ray.train.v2.api import data_parallel_trainer

    from raydt.ray_compat import train as ray_compat

    assert hasattr(data_parallel_trainer, "create_failure_policy"), VERSION + "create_failure_policy is gone"
    assert "make_decision" in vars(DefaultFailurePolicy), VERSION + "DefaultFailurePolicy.make_decision is gone"
    assert {"RAISE", "RETRY"} <= set(FailureDecision.__members__), VERSION + "FailureDecision members"
    assert list(inspect.signature(DefaultFailurePolicy).parameters) == ["failure_config"], VERSION + "policy init"
    ray_compat.retry_system_failures_only()
    assert data_parallel_trainer.create_failure_policy is ray_compat.SystemFailuresOnly


def test_failure_policy_retries_only_what_a_retry_can_fix() -> None:
    from ray.exceptions import ActorDiedError
    from ray.train import FailureConfig, WorkerGroupError

    from raydt.ray_compat.train import SystemFailuresOnly

    policy = SystemFailuresOnly(FailureConfig(max_failures=2))
    bug = WorkerGroupError("failed", {0: ValueError("boom")})
    died = WorkerGroupError("failed", {0: ActorDiedError(), 1: RuntimeError("collateral")})
    assert policy.make_decision(bug).name == "RAISE"
    assert policy.make_decision(died).name == "RETRY"
    assert policy.make_decision(died).name == "RETRY"
    assert policy.make_decision(died).name == "RAISE"  # max_failures still counts


def test_a_collective_whose_peer_died_is_retried_as_a_dead_worker() -> None:
    """A node lost mid all-reduce: the survivor's gloo/NCCL error may be the only failure Ray Train has seen yet."""
    from ray.train import FailureConfig, WorkerGroupError

    from raydt import errors
    from raydt.ray_compat.train import SystemFailuresOnly

    policy = SystemFailuresOnly(FailureConfig(max_failures=1))
    for text in (
        "[../third_party/gloo/gloo/transport/tcp/pair.cc:534] Read error [127.0.0.1]:4102: Connection reset by peer",
        "[../third_party/gloo/gloo/transport/tcp/pair.cc:598] Connection closed by peer [10.0.0.2]:62347",
        "NCCL error: remote process exited or there was a network error, NCCL version 2.21.5",
    ):
        assert errors.failure_class(RuntimeError(text)) is errors.WorkerDiedError, text
        assert policy.make_decision(WorkerGroupError("failed", {1: RuntimeError(text)})).name == "RETRY", text
        policy = SystemFailuresOnly(FailureConfig(max_failures=1))
    assert errors.failure_class(RuntimeError("shape mismatch in all_reduce")) is errors.UserCodeError


def test_ray_train_preemption_states_and_rule() -> None:
    from ray.train import PreemptionError, PreemptionInfo, WorkerGroupError
    from ray.train.v2._internal.execution.callback import ControllerCallback
    from ray.train.v2._internal.execution.controller import controller, state
    from ray.train.v2._internal.execution.failure_handling import default

    hook = inspect.signature(ControllerCallback.after_controller_state_update)
    assert list(hook.parameters) == ["self", "previous_state", "current_state"], VERSION + "state-update hook"
    assert "after_controller_state_update" in inspect.getsource(controller), VERSION + "the hook is no longer called"
    info = PreemptionInfo(deadline_ms=1, preempted_node_to_ranks={"n": [0]})
    preempting = state.PreemptingState(preemption_info=info, detected_at_s=0.0)
    assert preempting.preemption_info is info, VERSION + "PREEMPTING"
    error = PreemptionError(preemption_info=info)
    restarting = state.RestartingState(training_failed_error=error)
    assert restarting.training_failed_error is error and not restarting.is_terminal(), VERSION + "RESTARTING"
    assert state.ErroredState(training_failed_error=error).is_terminal(), VERSION + "ERRORED"
    assert default._is_preemption_failure(error), VERSION + "_is_preemption_failure"
    assert not default._is_preemption_failure(WorkerGroupError("x", {0: ValueError()})), VERSION + "preemption rule"


def test_a_worker_lost_with_its_drained_node_is_read_as_ray_train_reads_it() -> None:
    from ray.exceptions import RayActorError
    from ray.train.v2._internal.exceptions import WorkerHealthCheckFailedError
    from ray.train.v2._internal.execution.worker_group.poll import _is_preempted_actor

    from raydt.ray_compat import lost_to_preemption

    drained, died = RayActorError(preempted=True), RayActorError()
    cases = [WorkerHealthCheckFailedError("lost", drained), WorkerHealthCheckFailedError("lost", died), drained, died]
    cases.append(ValueError("bug"))
    assert [lost_to_preemption(e) for e in cases] == [True, False, True, False, False]
    assert [bool(_is_preempted_actor(e)) for e in cases] == [True, False, True, False, False], VERSION + "poll rule"


def test_train_inside_tune_local_mode() -> None:
    import ray.tune.trainable.trainable_fn_utils as tune_fn_utils
    from ray.train.v2._internal.execution import train_fn_utils

    assert callable(getattr(tune_fn_utils, "_in_tune_session", None)), VERSION + "_in_tune_session is gone"
    assert callable(getattr(train_fn_utils, "set_train_fn_utils", None)), VERSION + "set_train_fn_utils is gone"
    params = inspect.signature(train_fn_utils.LocalTrainFnUtils).parameters
    assert {"experiment_name", "dataset_shards"} <= set(params), VERSION + f"LocalTrainFnUtils({list(params)})"
    for name in ("report", "get_checkpoint"):
        assert hasattr(train_fn_utils.LocalTrainFnUtils, name), VERSION + f"LocalTrainFnUtils.{name}"


def test_result_grid_trials_and_autoscaler_state() -> None:
    from ray._private import ray_constants
    from ray.autoscaler.v2.utils import is_autoscaler_v2
    from ray.experimental import internal_kv
    from ray.tune import ResultGrid

    source = inspect.getsource(ResultGrid)
    assert "self._experiment_analysis = " in source, VERSION + "ResultGrid keeps no _experiment_analysis"
    assert "_experiment_analysis.trials" in source, VERSION + "ResultGrid's analysis has no trials"
    assert isinstance(ray_constants.DEBUG_AUTOSCALING_STATUS, str), VERSION + "DEBUG_AUTOSCALING_STATUS"
    assert callable(internal_kv._internal_kv_get) and callable(internal_kv._internal_kv_initialized)
    assert "fetch_from_server" in inspect.signature(is_autoscaler_v2).parameters, VERSION + "is_autoscaler_v2"


def _ray_class(target: str) -> type:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def _kwargs(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:  # options a subclass passes on through **kwargs
        init = vars(klass).get("__init__")
        if init is not None:
            names |= set(inspect.signature(init).parameters)
    return names


@pytest.mark.parametrize("kind", ["schedulers", "searchers"])
def test_every_registry_option_is_an_argument_of_its_ray_class(kind: str) -> None:
    from raydt.registry import SCHEDULERS, SEARCHERS

    table = SCHEDULERS if kind == "schedulers" else SEARCHERS
    for info in table.values():
        if any(importlib.util.find_spec(m) is None for m in info.modules):
            continue  # an optional extra that is not installed
        accepted = _kwargs(_ray_class(info.target))
        args = {opt.arg for opt in info.options.values()}
        seed = getattr(info, "seed_arg", None)
        if seed:
            args.add(seed)
        missing = args - accepted
        assert not missing, f"Ray {ray.__version__}: {info.target} takes no {sorted(missing)}"


def test_every_scheduler_flag_argument_is_an_argument_of_its_ray_class() -> None:
    """``epochs_arg`` and a searcher's own scheduler class (which takes its scheduler's options) exist in Ray."""
    from raydt.registry import SCHEDULERS, SEARCHERS

    for info in SCHEDULERS.values():
        if info.epochs_arg and not any(importlib.util.find_spec(m) is None for m in info.modules):
            assert info.epochs_arg in _kwargs(_ray_class(info.target)), f"{info.target} takes no {info.epochs_arg}"
    for searcher in SEARCHERS.values():
        own = searcher.own_scheduler
        if own is not None:
            sched = SCHEDULERS[own.name]
            args = {opt.arg for opt in sched.options.values()} | ({sched.epochs_arg} if sched.epochs_arg else set())
            missing = args - _kwargs(_ray_class(own.target))
            assert not missing, f"Ray {ray.__version__}: {own.target} takes no {sorted(missing)}"


@pytest.mark.parametrize("module", ["ray.train.xgboost", "ray.train.lightgbm"])
def test_gbdt_report_callbacks_build_their_checkpoint_where_raydt_adds_files(module: str) -> None:
    callback = importlib.import_module(module).RayTrainReportCallback
    for name in ("_get_checkpoint", "_save_and_report_checkpoint"):
        assert callable(getattr(callback, name, None)), VERSION + f"{module}.RayTrainReportCallback.{name} is gone"
    params = inspect.signature(callback._save_and_report_checkpoint).parameters
    assert list(params)[1:] == ["report_dict", "model"], VERSION + f"_save_and_report_checkpoint{list(params)}"


def test_auth_settings_can_be_reloaded() -> None:
    from ray import _raylet

    for name in ("AuthenticationTokenLoader", "Config"):
        assert hasattr(_raylet, name), VERSION + f"ray._raylet.{name} is gone"
    assert callable(getattr(_raylet.AuthenticationTokenLoader.instance(), "reset_cache", None)), VERSION + "reset_cache"
    assert callable(getattr(_raylet.Config, "initialize", None)), VERSION + "Config.initialize"


def test_optuna_search_keeps_the_optuna_trial_of_each_tune_trial() -> None:
    optuna = pytest.importorskip("optuna")
    from ray.tune.search.optuna import OptunaSearch

    from raydt import ray_compat

    searcher = OptunaSearch(space={"x": optuna.distributions.FloatDistribution(0, 1)}, metric="m", mode="min")
    searcher.suggest("t1")
    trial = ray_compat.optuna_trial(searcher, "t1")
    assert isinstance(trial, optuna.trial.Trial), VERSION + "OptunaSearch._ot_trials holds no optuna Trial"
    assert ray_compat.optuna_trial(searcher, "nope") is None


def test_the_process_titles_the_memory_guard_reads_are_rays_actor_class_names() -> None:
    """``tune_memory.TRAIN_TITLES`` are the titles Ray gives a Train worker's and controller's process
    (``ray::<actor class>``): this fails when Ray renames the classes (the real measurement is in the e2e tier,
    tests/integration/test_tune_memory.py)."""
    from ray.train.v2._internal.execution.controller.controller import TrainController
    from ray.train.v2._internal.execution.worker_group.worker import RayTrainWorker

    from raydt.runners.tune.memory import TRAIN_TITLES

    assert TRAIN_TITLES == (f"ray::{RayTrainWorker.__name__}".encode(), f"ray::{TrainController.__name__}".encode())


def test_the_driver_joins_through_a_node_with_a_hidden_ray_init_argument() -> None:
    from raydt import ray_compat

    source = inspect.getsource(ray.init)
    assert 'kwargs.pop("_node_ip_address"' in source, VERSION + "ray.init takes no _node_ip_address"
    assert ray_compat.on_node({"num_cpus": 2}, "127.0.0.3") == {"_node_ip_address": "127.0.0.3", "num_cpus": 2}
    given = {"_node_ip_address": "10.0.0.1"}  # config.rayInit's own wins
    assert ray_compat.on_node(given, "127.0.0.3") == given


def test_the_private_ray_names_ray_compat_holds() -> None:
    """The head's resource (clusterStatus.nodes[].isHead), ray.init's hidden ``_memory`` (config.rayInit) and the
    private module whose logger ``raydt submit`` quiets."""
    from ray._common import constants

    from raydt import ray_compat

    assert constants.HEAD_NODE_RESOURCE_NAME == ray_compat.HEAD_RESOURCE, VERSION + "the head node's resource"
    source = inspect.getsource(ray.init)
    assert f'kwargs.pop("{ray_compat.MEMORY_KWARG}"' in source, VERSION + "ray.init takes no _memory"
    for name in ray_compat.JOB_CLIENT_LOGGERS:
        assert importlib.util.find_spec(name) is not None, VERSION + name


def test_importing_ray_compat_imports_no_ray_train_or_tune() -> None:
    """cluster status, doctor and submit read ray_compat's names: only ``ray_compat.train`` imports Train and Tune."""
    import subprocess
    import sys

    code = "import sys, raydt.ray_compat; print(sorted(m for m in ('ray.train', 'ray.tune') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class _Trial:
    def __init__(self, path: str | None) -> None:
        self.pickled_error_file = path


def test_trial_exception_reads_the_error_the_driver_just_pickled(tmp_path: Path) -> None:
    from ray import cloudpickle
    from ray.tune.experiment import Trial

    from raydt.ray_compat import trial_exception

    assert isinstance(getattr(Trial, "pickled_error_file", None), property), VERSION + "Trial.pickled_error_file"
    assert "pickled_error_file" in inspect.getsource(Trial.handle_error), VERSION + "Trial.handle_error writes no file"
    path = tmp_path / "error.pkl"
    path.write_bytes(cloudpickle.dumps(MemoryError("worker OOM")))
    exc = trial_exception(_Trial(str(path)))
    assert isinstance(exc, MemoryError) and str(exc) == "worker OOM"


@pytest.mark.parametrize("content", [None, b"not a pickle", "not an exception"])
def test_trial_exception_is_none_when_nothing_usable_was_recorded(tmp_path: Path, content: bytes | str | None) -> None:
    from ray import cloudpickle

    from raydt.ray_compat import trial_exception

    assert trial_exception(_Trial(None)) is None and trial_exception(object()) is None
    path = tmp_path / "error.pkl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_bytes(cloudpickle.dumps(content))
    assert trial_exception(_Trial(str(path))) is None  # missing, unreadable, or no exception


def test_the_monitor_of_an_embedded_ray_can_be_stopped_before_shutdown() -> None:
    from ray._private import ray_constants, worker
    from ray._private.node import Node

    from raydt import ray_compat

    assert hasattr(worker, "_global_node"), VERSION + "ray._private.worker._global_node is gone"
    assert isinstance(ray_constants.PROCESS_TYPE_MONITOR, str), VERSION + "PROCESS_TYPE_MONITOR is gone"
    params = inspect.signature(Node._kill_process_type).parameters
    assert {"process_type", "allow_graceful", "check_alive"} <= set(params), VERSION + "Node._kill_process_type"
    assert callable(getattr(Node, "is_head", None)), VERSION + "Node.is_head is gone"
    ray_compat.stop_monitor()  # no Ray in this process: nothing to stop, and no error


@pytest.mark.parametrize("head", [True, False])
def test_stop_monitor_kills_only_the_monitor_of_a_ray_this_process_started(
    head: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ray._private import ray_constants, worker

    from raydt import ray_compat

    calls: list[tuple[str, dict[str, bool]]] = []

    class Node:
        def is_head(self) -> bool:
            return head

        def _kill_process_type(self, process_type: str, **kwargs: bool) -> None:
            calls.append((process_type, kwargs))

    monkeypatch.setattr(worker, "_global_node", Node(), raising=False)
    ray_compat.stop_monitor()
    wanted = [(ray_constants.PROCESS_TYPE_MONITOR, {"allow_graceful": False, "check_alive": False})]
    assert calls == (wanted if head else [])


def test_the_nvml_binding_ray_ships_has_what_the_gpu_figures_read() -> None:
    """``ray_compat.nvml``: Ray's vendored pynvml (or a public one), with every call ``utilisation.gpu`` makes."""
    from raydt import ray_compat

    vendored = importlib.import_module("ray._private.thirdparty.pynvml")
    binding = ray_compat.nvml()
    for module in (vendored, binding):
        for name in (
            "nvmlInit",
            "nvmlDeviceGetHandleByIndex",
            "nvmlDeviceGetHandleByUUID",
            "nvmlDeviceGetUtilizationRates",
            "nvmlDeviceGetComputeRunningProcesses",
            "nvmlDeviceGetMemoryInfo",
        ):
            assert hasattr(module, name), VERSION + f"its pynvml has no {name}"


def test_a_trial_asks_ray_core_whether_its_node_is_drained(monkeypatch: pytest.MonkeyPatch) -> None:
    """``node_drained`` reads Ray Core's drain list as Ray Train's watcher does (the real call: e2e tier)."""
    import ray
    from ray._private import state
    from ray.train.v2._internal.execution import preemption

    from raydt.ray_compat import train as compat

    assert "get_draining_nodes" in inspect.getsource(preemption), VERSION + "Ray Train's watcher reads another source"
    assert inspect.signature(state.GlobalState.get_draining_nodes).parameters.keys() == {"self"}, VERSION
    context = SimpleNamespace(get_node_id=lambda: "n1")
    monkeypatch.setattr(ray, "get_runtime_context", lambda: context)
    for drained, expected in (({}, None), ({"n2": 5}, None), ({"n1": 1700}, 1700), ({"n1": 0}, None)):
        monkeypatch.setattr(state.state, "get_draining_nodes", lambda d=drained: d)
        info = compat.node_drained()
        assert (info is not None) == ("n1" in drained), drained
        if info is not None:
            assert info.deadline_ms == expected and info.preempted_node_to_ranks == {"n1": [0]}

    def broken() -> dict[str, int]:
        raise ConnectionError("GCS")

    monkeypatch.setattr(state.state, "get_draining_nodes", broken)
    assert compat.node_drained() is None  # a failed look is no drain
    assert compat.TuneBridge(experiment_name="t").get_preemption_info() is None


def test_a_search_reads_its_trainable_from_rays_store_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tune's driver looks the trainable up (contains + get) several times per trial; inside the context only the
    first lookup reaches the registry, a new registration or a removal is read anew, and the registry is as it
    was afterwards."""
    from ray.tune import registry
    from ray.tune.experiment import trial as trial_module

    from raydt.ray_compat.tune import trainables_read_once

    assert isinstance(getattr(registry, "_global_registry", None), registry._Registry), VERSION + "_global_registry"
    for name, args in (("get", ["category", "key"]), ("contains", ["category", "key"]),
                       ("register", ["category", "key", "value"]), ("unregister", ["category", "key"])):  # fmt: skip
        assert list(inspect.signature(getattr(registry._Registry, name)).parameters)[1:] == args, VERSION + name
    assert "_global_registry.get(" in inspect.getsource(registry.get_trainable_cls), VERSION + "get_trainable_cls"
    assert "validate_trainable" in inspect.getsource(trial_module.Trial.__init__), VERSION + "Trial.__init__"
    reads: list[str] = []
    get = registry._Registry.get
    monkeypatch.setattr(registry._Registry, "get", lambda self, c, k: reads.append(k) or get(self, c, k))
    reg = registry._global_registry
    monkeypatch.setattr(reg, "_to_flush", {})  # no Ray here: the registry keeps values in memory
    with trainables_read_once(), trainables_read_once():  # nested (a search inside a search) unwinds too
        reg.register(registry.TRAINABLE_CLASS, "raydt_t", 1)
        assert [reg.get(registry.TRAINABLE_CLASS, "raydt_t") for _ in range(3)] == [1, 1, 1]
        assert reg.contains(registry.TRAINABLE_CLASS, "raydt_t") and reads == ["raydt_t"]
        reg.register(registry.TRAINABLE_CLASS, "raydt_t", 2)
        assert reg.get(registry.TRAINABLE_CLASS, "raydt_t") == 2 and len(reads) == 2
        reg.unregister(registry.TRAINABLE_CLASS, "raydt_t")
        assert not reg.contains(registry.TRAINABLE_CLASS, "raydt_t")
    assert not {"get", "contains", "register", "unregister"} & set(vars(reg)), "the registry is left patched"


def test_a_trial_whose_actor_is_starting_waits_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A trial whose own actor has started does not take a cached one (Tune would, killing the starting actor);
    a trial still waiting for resources, or one being reset onto a cached actor, goes Tune's way."""
    from ray.tune.execution.tune_controller import TuneController

    from raydt.ray_compat.tune import booting_trial_actors_kept

    assert list(inspect.signature(TuneController._maybe_reuse_cached_actor).parameters) == ["self", "trial"], VERSION
    init = inspect.getsource(TuneController.__init__)
    assert "self._trial_to_actor" in init and "self._resetting_trials" in init, VERSION + "TuneController's state"
    reuse = inspect.getsource(TuneController._maybe_reuse_cached_actor)
    assert "self._remove_actor(tracked_actor=original_actor)" in reuse, VERSION + "Tune no longer kills the own actor"
    from ray.air.execution._internal.actor_manager import RayActorManager

    assert list(inspect.signature(RayActorManager.is_actor_started).parameters) == ["self", "tracked_actor"], VERSION
    taken: list[str] = []
    monkeypatch.setattr(TuneController, "_maybe_reuse_cached_actor", lambda self, trial: taken.append(trial) or True)
    started = {"own-b", "cached-a"}
    manager = SimpleNamespace(is_actor_started=lambda actor: actor in started)
    ctl = SimpleNamespace(_trial_to_actor={"t2": "own-b", "t3": "own-c", "t4": "cached-a"}, _resetting_trials={"t4"},
                          _actor_manager=manager)  # fmt: skip
    with booting_trial_actors_kept():
        assert TuneController._maybe_reuse_cached_actor(ctl, "t2") is False  # its actor is starting: wait for it
        assert TuneController._maybe_reuse_cached_actor(ctl, "t3") is True  # no actor started yet: reuse
        assert TuneController._maybe_reuse_cached_actor(ctl, "t4") is True  # being reset onto a cached actor
        assert TuneController._maybe_reuse_cached_actor(ctl, "t5") is True  # a new trial
    assert taken == ["t3", "t4", "t5"]
    assert TuneController._maybe_reuse_cached_actor(ctl, "t2") is True  # Tune's own again
