"""Every use of a non-public Ray API, in one place. Imports Ray: loaded only for a run.

Each entry says why no public API does the job; ``tests/unit/test_ray_compat.py`` fails loudly, naming
the Ray version, when Ray changes what an entry relies on. A Ray upgrade starts by reading this file.

Two Ray names are read where a module must not import Ray Train and Tune (which this module does), each named
once there and checked by the same test: the head node's resource ``node:__internal_head__``
(``ray_session.HEAD_RESOURCE``, for clusterStatus) and ``ray.init``'s hidden ``_memory`` argument
(``ray_session.MEMORY_KWARG``, accepted in config.rayInit); the loggers of Ray's job client that ``raydt submit``
quiets (``jobs.connect.client``) include the private ``ray._private.runtime_env``'s.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ray
import ray.train
import ray.tune
import ray.tune.trainable.trainable_fn_utils as tune_fn_utils  # private: see train_api_in_tune_trial
from ray.train.v2._internal.execution.failure_handling import (  # private: see retry_system_failures_only
    DefaultFailurePolicy,
    FailureDecision,
)
from ray.train.v2._internal.execution.train_fn_utils import (  # private: see train_api_in_tune_trial
    LocalTrainFnUtils,
    set_train_fn_utils,
)
from ray.train.v2.api import data_parallel_trainer  # private attribute patched: create_failure_policy

from raydt.errors import RETRYABLE

RAY_VERSION = ray.__version__


class SystemFailuresOnly(DefaultFailurePolicy):  # type: ignore[misc]
    """Ray Train's failure policy, except that an exception raised by the user's own code is not retried.

    Ray Train retries every worker-group failure up to ``FailureConfig.max_failures``; a trainer that raises
    the same exception at epoch 2 then runs three times. A retry can fix a dead worker or node, a
    preemption or a worker Ray killed for memory, not a bug: those alone are retried (``RETRYABLE``).
    """

    def __init__(self, failure_config: Any) -> None:
        super().__init__(failure_config)
        self.retryable = RETRYABLE  # kept on the instance: the controller actor needs no raydt import

    def make_decision(self, training_failed_error: Any) -> Any:
        failures = getattr(training_failed_error, "worker_failures", None)
        if failures and not any(
            any(n in f"{type(e).__name__}: {e}" for n in self.retryable) for e in failures.values()
        ):
            return FailureDecision.RAISE
        return super().make_decision(training_failed_error)


def retry_system_failures_only() -> None:
    """Make Ray Train build ``SystemFailuresOnly`` instead of its default policy (idempotent).

    Why private: Ray Train V2 has no public hook to choose which failures are retried;
    ``DataParallelTrainer.fit`` calls the module-level ``create_failure_policy(failure_config)`` in the
    driver and ships the policy to its controller actor. The class travels by value (cloudpickle), so
    the controller's node needs no raydt.
    """
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    data_parallel_trainer.create_failure_policy = SystemFailuresOnly


class TuneBridge(LocalTrainFnUtils):  # type: ignore[misc]
    """Ray Train's function utilities for a loop running inside a Tune trial: ``ray.train.report`` /
    ``get_checkpoint`` become ``ray.tune.report`` / ``get_checkpoint``."""

    def report(self, metrics: dict[str, Any], checkpoint: Any = None, **_: Any) -> None:
        tune_ckpt = None
        if checkpoint is not None:
            tune_ckpt = ray.tune.Checkpoint(path=checkpoint.path, filesystem=checkpoint.filesystem)
        ray.tune.report(dict(metrics), checkpoint=tune_ckpt)

    def get_checkpoint(self) -> Any:
        ckpt = ray.tune.get_checkpoint()
        if ckpt is None:
            return None
        return ray.train.Checkpoint(path=ckpt.path, filesystem=ckpt.filesystem)


@contextmanager
def train_api_in_tune_trial(trial_name: str, shards: dict[str, Any] | None) -> Iterator[None]:
    """Let a Ray Train loop (``ray.train.report``, ``get_checkpoint``, ``get_dataset_shard``) run inside a
    Tune trial, as one worker, with no controller and no worker group.

    Why private: Ray Train V2 has a local mode for exactly this (``LocalTrainFnUtils``, what
    ``num_workers=0`` uses), but no public way to enter it from a Tune trial, and its API refuses to run
    inside a Tune session (``_in_tune_session``): inside this trial the bridge *is* the Train context, so
    that guard is lifted for the loop only.
    """
    guard = tune_fn_utils._in_tune_session
    tune_fn_utils._in_tune_session = lambda: False
    set_train_fn_utils(TuneBridge(experiment_name=trial_name, dataset_shards=shards))
    try:
        yield
    finally:
        set_train_fn_utils(None)
        tune_fn_utils._in_tune_session = guard


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


def report_callback_with_files(callback_cls: type[Any], add_files: Any, **options: Any) -> Any:
    """Ray's XGBoost or LightGBM ``RayTrainReportCallback`` that also writes raydt's own files (its
    ``raydt_meta.json``, the fitted dataConfig pipeline) into every checkpoint before it is reported.

    Why private: the callback builds its checkpoint in ``_get_checkpoint`` and reports it in
    ``_save_and_report_checkpoint``; no public hook adds files to a checkpoint it makes.
    """

    class WithFiles(callback_cls):  # type: ignore[misc]
        def _save_and_report_checkpoint(self, report_dict: dict[str, Any], model: Any) -> None:
            with self._get_checkpoint(model=model) as ckpt:
                if ckpt is not None:
                    add_files(ckpt.path)
                ray.train.report(report_dict, checkpoint=ckpt)

    return WithFiles(**options)


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
