"""``mode: train``: one Ray Train run (``TorchTrainer`` & co.) from the spec, one result back."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from typing import Any

from raydt import data, frameworks, plan, preflight, tracking, trainer_ref, utilisation
from raydt.errors import NodePreemptedError, PendingTimeoutError, RunError, UserCodeError, failure_class
from raydt.plan import TrainPlan
from raydt.progress import ProgressView
from raydt.results import existing_dir
from raydt.runners import skeleton
from raydt.runners.train_result import Outcome as Outcome  # re-exported: tests build results from outcomes
from raydt.runners.train_result import ending, result
from raydt.spec.loader import LoadedSpec


def run_train(loaded: LoadedSpec, view: ProgressView) -> dict[str, Any]:
    """Run ``loaded`` as a single Ray Train run."""
    return skeleton.run(loaded, view, TrainMode(plan.train(loaded), view))


class TrainMode:
    """``mode: train`` in the run skeleton: one Ray Train run."""

    def __init__(self, p: TrainPlan, view: ProgressView) -> None:
        self.train_plan = p
        self.view = view
        self.adapter = frameworks.adapter(p.framework)
        self.loop = self.adapter.builtin_loop() if p.trainer is None else user_loop(p.trainer)

    def describe(self) -> str:
        p = self.train_plan
        return (
            f"train: {p.framework.name}, {p.workers.num_workers} worker(s) x {p.workers.resources}, "
            f"trainer {p.trainer or 'built-in'}"
        )

    def connection(self) -> skeleton.Connection:
        return skeleton.Connection(dashboard=True, env_vars={}, warm=self.adapter.driver_modules)

    def ray_env(self) -> dict[str, str]:
        from raydt import ray_config

        return ray_config.run_env(self.train_plan)  # the controller's worker-group start timeout

    def admit(self, status: dict[str, Any], view: ProgressView) -> skeleton.Admission:
        w = self.train_plan.workers
        # an elastic run must be able to start with its minimum; a fixed one with all its workers
        waiting = preflight.admit(
            dataclasses.replace(w, num_workers=w.min_workers or w.num_workers),
            status,
            self.train_plan.pending_timeout_s,
        )
        if waiting:
            view.event(waiting)
        return skeleton.Admission((waiting,) if waiting else (), w.total().get("CPU", 0.0), w.total())

    def fit(self, p: TrainPlan, datasets: dict[str, Any] | None, status: dict[str, Any]) -> dict[str, Any]:
        tracker = tracking.start(p, self.view)  # runConfig.tracking: MLflow, logged from this driver
        try:
            done = fit(p, self.adapter, self.loop, self.view, datasets, tracker)
            out = result(p, done, status)
            said = ending(p, done)[2]
            if said:
                self.view.event(said)
        except BaseException as exc:
            tracking.failed(tracker, exc)
            raise
        return tracking.finish(tracker, out)


def user_loop(ref: trainer_ref.TrainerRef) -> Callable[..., Any]:
    """Import the user's loop; a file's code is shipped to workers by value (Ray's cloudpickle)."""
    fn = trainer_ref.load(ref)
    if ref.is_file:
        from ray import cloudpickle

        cloudpickle.register_pickle_by_value(sys.modules[fn.__module__])
    return fn


# One Ray Train run from build to classified outcome (normal end, failure, Ctrl-C): 60 lines kept together.
def fit(
    p: TrainPlan,
    adapter: frameworks.FrameworkAdapter,
    loop: Callable[..., Any],
    view: ProgressView,
    datasets: dict[str, Any] | None = None,
    tracker: Any = None,
) -> Outcome:
    """Build the Ray trainer, run it with the relay attached, and classify failures."""
    import ray.train

    from raydt import ray_config
    from raydt.progress.relay import Relay
    from raydt.ray_compat import train as ray_compat

    ray_compat.retry_system_failures_only()  # an exception from the trainer is not retried
    relay = Relay(view, p.experiment_path)  # also the train ledger raydt report reads
    if tracker is not None:
        tracker.follow(relay)  # each report to MLflow once, as the relay brings it
    view.watch(
        p.metric,
        p.metric_mode,
        p.loop_config.get(p.framework.epochs_param) if p.trainer is None else None,
        unit=p.framework.iteration_name,
    )
    # a worker group that cannot be scheduled within pendingTimeoutS ends the run (never a hang); elastic
    # runs instead wait for capacity and resize, as Ray Train does
    run_config = ray_config.train_run(
        p, callbacks(relay), adapter.worker_env(), controller_failure_limit=-1 if p.workers.elastic else 0
    )
    scaling = ray_config.scaling(p.workers)
    with_data: dict[str, Any] = {}
    if datasets is not None:  # dataConfig: Ray Data shards, read by each worker (get_dataset_shard)
        with_data = {"datasets": datasets, "dataset_config": data.dataset_config()}
    sampled = utilisation.watched(  # every worker samples what it uses (results.utilisation)
        loop, p.experiment_path, "train", utilisation.Reserved.of(p.workers.resources), in_train_worker=True
    )
    trainer = adapter.trainer_class()(
        sampled, train_loop_config=p.loop_config, scaling_config=scaling, run_config=run_config, **with_data
    )
    start, began = time.monotonic(), time.time()
    try:
        res = trainer.fit()
    except (ray.train.TrainingFailedError, ray.exceptions.RayError) as exc:
        # RayError: the controller itself was lost (Ray's memory monitor killed it, its node died)
        relay.close()
        raise classify(exc, relay.history, p) from None
    except (KeyboardInterrupt, SystemExit):
        # Ctrl-C: Ray Train's own SIGINT handler aborts the run (and exits the handler with SystemExit);
        # what was reported and checkpointed so far stays, and the run can be resumed.
        relay.close()
        saved = [r["checkpoint"] for r in relay.history if r.get("checkpoint")]
        return Outcome(
            relay.history,
            relay.worker_errors,
            p.experiment_path,
            time.monotonic() - start,
            saved[-1] if saved else None,
            interrupted=True,
            began=began,
            preemptions=relay.preemptions,
        )
    finally:
        relay.close()
    elapsed = time.monotonic() - start
    last = res.checkpoint.path if res.checkpoint is not None else None
    return Outcome(
        relay.history, relay.worker_errors, res.path, elapsed, last, began=began, preemptions=relay.preemptions
    )


def callbacks(relay: Any) -> list[Any]:
    """Ray Train's callbacks of a run: the relay's (each report, each worker failure) and, on the controller,
    ``PreemptionEvents`` (a node drained for preemption, a restart after one), both sent to the relay's queue."""
    from raydt.ray_compat import train as ray_compat

    relayed = relay.callback()
    return [relayed, ray_compat.PreemptionEvents(relayed.send)]


def classify(exc: Exception, history: list[dict[str, Any]], p: TrainPlan) -> RunError:
    """Turn a Ray Train failure into our error, with the user's traceback tail and what was saved."""
    import ray.train

    from raydt.ray_compat import train as ray_compat

    cause: BaseException = exc
    err: RunError
    if ray_compat.is_preemption(exc):  # maxPreemptions spent: Ray Train's PreemptionError, or workers lost with a node
        limit = "no limit" if p.max_preemptions is None else p.max_preemptions
        err = NodePreemptedError(
            f"a node of the run was drained for preemption more often than runConfig.maxPreemptions ({limit}) "
            f"allows: {_first_line(exc)}"
        )
    elif isinstance(exc, ray.train.WorkerGroupError) and exc.worker_failures:
        rank, cause = sorted(exc.worker_failures.items())[0]
        err = failure_class(cause)(f"training worker {rank} raised {type(cause).__name__}: {_first_line(cause)}")
    elif "StartupTimeout" in type(getattr(exc, "controller_failure", None)).__name__ + str(exc):
        err = PendingTimeoutError(
            f"the training workers could not be scheduled within runConfig.pendingTimeoutS ({p.pending_timeout_s:g}s)",
            hint="The cluster lacks free resources for the worker group (busy, or waiting on an autoscaler); "
            "raise runConfig.pendingTimeoutS, lower config.numWorkers/resourcesPerWorker, or add nodes.",
        )
    elif failure_class(exc) is not UserCodeError:  # the controller killed by Ray's memory monitor, or lost
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        err = failure_class(exc)(f"the training run was lost: {type(exc).__name__}: {first}")
    else:
        err = RunError(f"training failed: {_first_line(exc)}", hint="See the log file for Ray's own messages.")
    saved = [r["checkpoint"] for r in history if r.get("checkpoint")]
    text = str(exc)  # Ray Train puts each worker's own traceback in its message ("[Rank 0 Error Snippet]")
    tail = [ln for ln in text.splitlines() if ln.strip()][-12:] if "Traceback" in text else []
    details: dict[str, Any] = {"traceback": tail or trainer_ref.format_traceback(cause), "reports": len(history)}
    if saved and existing_dir(saved[-1]):
        details["lastCheckpointPath"] = saved[-1]
    details["experimentPath"] = p.experiment_path
    err.details = details
    return err


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # Ray wraps user errors; the last line usually holds the original message.
    return (lines[-1] if lines else type(exc).__name__)[:300]
