"""Every use of a non-public Ray API, in one package (Ray imported only where an entry needs it). A Ray upgrade
starts by reading it.

Each entry says why no public API does the job; ``tests/unit/test_ray_compat.py`` fails loudly, naming the Ray
version, when Ray changes what an entry relies on. Here: the names and calls that need only ``ray`` (a cluster's
status, a connection, a trial's recorded error); in ``ray_compat.train``: what patches or extends Ray Train and
Tune (importing it imports both, so only the runners and the built-in trainers do); in ``ray_compat.tune``: Ray
Tune's driver, patched while a search runs; in ``ray_compat.solo``: Ray Train's parts the 1-worker fast path uses.
"""

from __future__ import annotations

from typing import Any

#: The resource Ray gives the head node (``ray._common.constants.HEAD_NODE_RESOURCE_NAME``, a private module).
HEAD_RESOURCE = "node:__internal_head__"
#: ``ray.init``'s hidden keyword argument for the node's ``memory`` resource (``ray start --memory``), accepted in
#: config.rayInit like its documented arguments.
MEMORY_KWARG = "_memory"
#: The loggers of Ray's job client that ``raydt submit`` quiets; ``ray._private.runtime_env``'s is a private module's.
JOB_CLIENT_LOGGERS = (
    "ray.dashboard.modules.dashboard_sdk",
    "ray.dashboard.modules.job.sdk",
    "ray._private.runtime_env",
)


def trial_statuses(grid: Any) -> dict[str, str]:
    """Tune's status of every trial of a ResultGrid.

    Why private: ``ResultGrid`` exposes results, not trials; their status (RUNNING/PENDING/PAUSED for a
    search that was cut short) lives on its ``_experiment_analysis``. Used only for searches that
    predate raydt's trial ledger.
    """
    analysis = getattr(grid, "_experiment_analysis", None)
    return {t.trial_id: t.status for t in getattr(analysis, "trials", None) or []}


def optuna_trial(searcher: Any, trial_id: str) -> Any:
    """The Optuna trial an ``OptunaSearch`` asked for Tune's trial ``trial_id`` (None: none).

    Why private: ``OptunaSearch`` keeps its Optuna trials in ``_ot_trials`` and has no accessor; raydt sets a
    trial's constraint values on it (Optuna's public ``Trial.set_constraint``) just before the searcher tells
    the study its objectives, which is when Optuna's samplers read them.
    """
    return getattr(searcher, "_ot_trials", {}).get(trial_id)


def autoscaler_v1_report() -> bytes | None:
    """The v1 autoscaler monitor's status report in the GCS (None: none).

    Why private: Ray has no public call that says whether (and with which node types) a cluster can add
    nodes; ``ray status`` itself reads the GCS key ``DEBUG_AUTOSCALING_STATUS`` through the internal KV.
    """
    from ray._private import ray_constants
    from ray.experimental.internal_kv import _internal_kv_get, _internal_kv_initialized

    if not _internal_kv_initialized():
        return None
    report: bytes | None = _internal_kv_get(ray_constants.DEBUG_AUTOSCALING_STATUS)
    return report


def autoscaler_v2_running() -> bool:
    """Whether the cluster runs Ray's v2 autoscaler (KubeRay sets it). ``ray.autoscaler.v2`` is not a
    documented module either."""
    from ray.autoscaler.v2.utils import is_autoscaler_v2

    return bool(is_autoscaler_v2(fetch_from_server=True))


def trial_exception(trial: Any) -> BaseException | None:
    """The exception a Tune trial failed with, as the driver recorded it a moment ago.

    Why private: ``Trial.get_error()``/``get_pickled_error()`` read the trial's folder in storage, which
    Tune syncs later (at a callback's ``on_trial_recover``/``on_trial_error`` it holds nothing, or an older
    failure); ``Trial.handle_error`` writes the pickled exception to the driver's staging folder at once,
    named by ``pickled_error_file``.
    """
    from ray import cloudpickle

    path = getattr(trial, "pickled_error_file", None)
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            exc = cloudpickle.load(fh)
    except Exception:  # noqa: BLE001 - missing or unpicklable: the caller says what it knows
        return None
    return exc if isinstance(exc, BaseException) else None


def lost_to_preemption(error: BaseException) -> bool:
    """Whether a Ray Train worker's error is its death with a node drained for preemption (Ray Train then counts the
    restart against ``maxPreemptions``, as ``ray_compat.train.PreemptionEvents`` reports it).

    Why private: the public flag is ``RayActorError.preempted``, but Ray Train hands its callbacks the worker's
    death wrapped in its own ``WorkerHealthCheckFailedError`` (``ray.train.v2._internal.exceptions``), as the
    attribute ``health_check_failure``; Ray Train's own rule (``worker_group.poll._is_preempted_actor``) unwraps it
    the same way. Read by name only, so the relay's callback on the controller needs no Ray Train import.
    """
    inner = getattr(error, "health_check_failure", error)
    return getattr(inner, "preempted", False) is True


def on_node(init_kwargs: dict[str, Any], node_ip: str) -> dict[str, Any]:
    """``ray.init``'s arguments with the driver joining the cluster through the raylet at ``node_ip`` (the lasting
    cluster's head on this machine), unless ``config.rayInit`` already names a node address.

    Why private: ``_node_ip_address`` is one of ``ray.init``'s hidden keyword arguments ("unstable, may change
    without notice"); no public argument says which of this machine's addresses is the driver's node, and
    ``raydt cluster up`` gives each raylet of this machine its own 127.0.0.x.
    """
    return {"_node_ip_address": node_ip, **init_kwargs}


def reload_auth_settings() -> None:
    """Make this process read ``RAY_AUTH_MODE`` / ``RAY_AUTH_TOKEN_PATH`` again before it connects.

    Why private: Ray reads its auth mode into a cached ``RayConfig`` and the token through a cached
    ``AuthenticationTokenLoader`` the first time it needs them; a driver that has used Ray before (or
    imported it) would keep presenting no token, or another cluster's, to a token-protected GCS. Ray's own
    ``ray start`` path refreshes both the same way (``authentication_token_setup``).
    """
    from ray._raylet import AuthenticationTokenLoader, Config  # type: ignore[attr-defined]

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def stop_monitor() -> None:
    """Before ``ray.shutdown()`` of the Ray this process started: its autoscaler monitor killed now (best effort).

    ``ray.shutdown()`` stops the monitor after the GCS, with SIGTERM, waits a second for it, then kills it: the
    monitor did not exit within that second in any run measured here (Ray 2.60: ``ray.shutdown()`` 1.4 s, 0.35 s
    with the monitor gone), so every embedded run paid a second for nothing, and the monitor ended killed anyway.
    Why private: the node's processes are ``ray._private.worker._global_node``'s, and no public call stops one of them.
    """
    try:
        from ray._private import ray_constants, worker

        node = worker._global_node
        if node is not None and node.is_head():  # a Ray this process started; a cluster it joined is left alone
            node._kill_process_type(ray_constants.PROCESS_TYPE_MONITOR, allow_graceful=False, check_alive=False)
    except Exception:  # noqa: BLE001 - ray.shutdown() stops it anyway, a second later
        pass


def nvml() -> Any:
    """NVML's Python binding as Ray ships it (None: not importable), for the GPU figures of ``raydt.utilisation``.

    Why private: Ray vendors ``pynvml`` under ``ray._private.thirdparty`` (its own GPU detection reads it);
    raydt installs no NVML binding of its own, and a public one (``nvidia-ml-py``) is used first when present.
    """
    import importlib

    for name in ("pynvml", "ray._private.thirdparty.pynvml"):
        try:
            return importlib.import_module(name)
        except Exception:  # noqa: BLE001, PERF203 - missing, or a binding that fails to load
            continue
    return None
