"""Ray Train's and Tune's internals raydt relies on (importing this module imports Ray Train and Tune: only the
runners and the built-in trainers do). Each entry says why no public API does the job; see the package's
docstring."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ray
import ray.train
import ray.tune
import ray.tune.trainable.trainable_fn_utils as tune_fn_utils  # private: see train_api_in_tune_trial
from ray.train.v2._internal.execution.callback import ControllerCallback  # private: see PreemptionEvents
from ray.train.v2._internal.execution.failure_handling import (  # private: see retry_system_failures_only
    DefaultFailurePolicy,
    FailureDecision,
)
from ray.train.v2._internal.execution.failure_handling.default import (  # private: see PreemptionEvents
    _is_preemption_failure,
)
from ray.train.v2._internal.execution.train_fn_utils import (  # private: see train_api_in_tune_trial
    LocalTrainFnUtils,
    set_train_fn_utils,
)
from ray.train.v2.api import data_parallel_trainer  # private attribute patched: create_failure_policy

from raydt.errors import RETRYABLE


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

    def get_preemption_info(self) -> Any:
        """Ray Train's local mode answers None (it has no preemption watcher); in a trial raydt asks Ray Core what
        Ray Train's watcher asks, whether this process's node is being drained, so the built-in loops checkpoint on
        the notice (``frameworks.common.Drain``) as they do in a Train run."""
        return node_drained()

    def get_checkpoint(self) -> Any:
        ckpt = ray.tune.get_checkpoint()
        if ckpt is None:
            return None
        return ray.train.Checkpoint(path=ckpt.path, filesystem=ckpt.filesystem)


def node_drained() -> Any:
    """``ray.train.PreemptionInfo`` for this process's node while Ray drains it (a spot node taken back, a node
    upgrade), else None; never raises (a GCS hiccup is no drain).

    Why private: the drained nodes and their deadlines are listed only by ``ray._private.state.state
    .get_draining_nodes()`` (``{node_id_hex: deadline_ms}``, 0 = no deadline), what Ray Train's own
    ``PreemptionWatcher`` reads; no public API tells a drain.
    """
    try:
        node = ray.get_runtime_context().get_node_id()
        deadline = (ray._private.state.state.get_draining_nodes() or {}).get(node)
    except Exception:  # a failed look is no drain
        return None
    if deadline is None:
        return None
    return ray.train.PreemptionInfo(deadline_ms=deadline or None, preempted_node_to_ranks={node: [0]})


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


def report_callback_with_files(
    callback_cls: type[Any], add_files: Any, drained: Callable[[], bool] | None = None, **options: Any
) -> Any:
    """Ray's XGBoost or LightGBM ``RayTrainReportCallback`` that also writes raydt's own files (its
    ``raydt_meta.json``, the fitted dataConfig pipeline) into every checkpoint before it is reported, and, once
    ``drained()`` says a node of the run is drained for preemption (asked every ``DRAIN_EVERY`` rounds, on every
    rank: it is a collective), checkpoints every round until Ray Train restarts the workers.

    Why private: the callback builds its checkpoint in ``_get_checkpoint``, reports it in
    ``_save_and_report_checkpoint`` and reads its period from ``_frequency`` in its per-round hook (XGBoost's
    ``after_iteration``, LightGBM's ``__call__``); no public hook adds files to a checkpoint it makes or changes
    the period of a running callback.
    """

    class WithFiles(callback_cls):  # type: ignore[misc]
        rounds = 0

        def _save_and_report_checkpoint(self, report_dict: dict[str, Any], model: Any) -> None:
            with self._get_checkpoint(model=model) as ckpt:
                if ckpt is not None:
                    add_files(ckpt.path)
                ray.train.report(report_dict, checkpoint=ckpt)

        def _on_round(self) -> None:
            self.rounds += 1
            # every rank asks at the same rounds and gets rank 0's answer (a broadcast): they switch together
            if (
                drained is not None
                and getattr(self, "_frequency", 0) != 1
                and self.rounds % DRAIN_EVERY == 0
                and drained()
            ):
                self._frequency = 1  # the drain notice: every round is saved from now on

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> Any:  # XGBoost
            self._on_round()
            return super().after_iteration(model, epoch, evals_log)

        def __call__(self, env: Any) -> None:  # LightGBM
            self._on_round()
            super().__call__(env)

    return WithFiles(**options)


#: the boosting rounds between two questions whether a node of the run is drained (a collective of a few ms, while a
#: round of a small booster takes about as long)
DRAIN_EVERY = 10


class PreemptionEvents(ControllerCallback):  # type: ignore[misc]
    """Runs on Ray Train's controller: tells the driver (``put``: the relay's queue) when a node of the run is
    drained for preemption (``{"event": "preemption_notice"}``, once per drain) and when Ray Train restarts the
    workers because of one (``{"event": "preempted"}``: a retry counted against ``maxPreemptions``).

    Why private: a restart after a drain leaves no worker error (the controller tears the workers down itself
    at the deadline), so ``UserCallback.after_exception`` never sees it; only the controller's state changes
    (``ControllerCallback.after_controller_state_update``, into ``PREEMPTING`` and then ``RESTARTING`` or
    ``RESCHEDULING`` with a ``PreemptionError``) do. Which failures count as preemptions is Ray Train's own
    rule (``_is_preemption_failure``: a ``PreemptionError``, or a worker lost with its node drained for
    preemption), so raydt's count is the budget Ray charges. Never raises: a failing callback would fail the run.
    """

    def __init__(self, put: Callable[[dict[str, Any]], None]) -> None:
        self.put = put

    def after_controller_state_update(self, previous_state: Any, current_state: Any) -> None:
        try:
            item = preemption_event(previous_state, current_state, _is_preemption_failure)
            if item is not None:
                self.put({**item, "time": time.time()})
        except Exception:  # noqa: BLE001, S110 - the relay is for results and progress, never for the training
            pass


def is_preemption(error: BaseException) -> bool:
    """Whether Ray Train charges ``error`` (a ``TrainingFailedError``) to ``maxPreemptions``: a ``PreemptionError``,
    or a worker group lost with a node drained for preemption. Why private: see ``PreemptionEvents``."""
    return bool(_is_preemption_failure(error))


def preemption_event(previous: Any, current: Any, is_preemption: Callable[[Any], bool]) -> dict[str, Any] | None:
    """The relay record of a controller state change (None: none): a drain notice when the controller enters
    ``PREEMPTING``, a preemption retry when it restarts the workers after a failure Ray counts as one."""
    info = getattr(current, "preemption_info", None)
    if info is not None and getattr(previous, "preemption_info", None) is None:
        return {"event": "preemption_notice", **_about(info)}
    error = getattr(current, "training_failed_error", None)
    if error is None or current.is_terminal() or not is_preemption(error):
        return None
    out = {"event": "preempted", "error": f"{type(error).__name__}: {error}"[:500]}
    info = getattr(error, "preemption_info", None)
    return {**out, **_about(info)} if info is not None else out


def _about(info: Any) -> dict[str, Any]:
    """A ``ray.train.PreemptionInfo`` as JSON: the drained nodes, the ranks on them, the deadline (epoch ms)."""
    return {"nodes": list(info.preempted_node_ids), "ranks": list(info.preempted_ranks), "deadlineMs": info.deadline_ms}
