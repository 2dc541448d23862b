"""``mode: train``: one Ray Train run (``TorchTrainer`` & co.; for 1 worker one actor, ``runners.solo``) from the
spec, one result back."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from typing import Any

from raydt import data, frameworks, plan, preflight, tracking, trainer_ref, utilisation
from raydt.plan import TrainPlan
from raydt.progress import ProgressView
from raydt.runners import skeleton
from raydt.runners.train_failure import classify as classify  # re-exported: tests classify Ray Train's errors
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
        if self.train_plan.solo:  # one actor: no Ray Train controller (it needs the State API, the dashboard), and
            # the framework is imported by that actor, not here; an embedded Ray starts seconds faster without either
            return skeleton.Connection(dashboard=False, env_vars={}, warm=("ray.train", "ray.util.queue"))
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


# One train run from build to classified outcome (normal end, failure, Ctrl-C): kept together.
def fit(
    p: TrainPlan,
    adapter: frameworks.FrameworkAdapter,
    loop: Callable[..., Any],
    view: ProgressView,
    datasets: dict[str, Any] | None = None,
    tracker: Any = None,
) -> Outcome:
    """Run ``p`` with the relay attached (a Ray Train run, or one actor for a 1-worker run: ``runners.solo``), and
    classify failures."""
    import ray.train

    from raydt.progress.relay import Relay

    relay = Relay(view, p.experiment_path)  # also the train ledger raydt report reads
    if tracker is not None:
        tracker.follow(relay)  # each report to MLflow once, as the relay brings it
    view.watch(
        p.metric,
        p.metric_mode,
        p.loop_config.get(p.framework.epochs_param) if p.trainer is None else None,
        unit=p.framework.iteration_name,
    )
    sampled = utilisation.watched(  # every worker samples what it uses (results.utilisation)
        loop, p.experiment_path, "train", utilisation.Reserved.of(p.workers.resources), in_train_worker=True
    )
    start, began = time.monotonic(), time.time()
    try:
        if p.solo:
            from raydt.runners import solo

            last, elapsed = solo.fit(p, adapter.worker_env(), sampled, relay, datasets)
            relay.close()
            return Outcome(
                relay.history,
                relay.worker_errors,
                p.experiment_path,
                elapsed,
                last,
                began=began,
                preemptions=relay.preemptions,
            )
        return _train_run(p, adapter, sampled, relay, datasets, began)
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


def _train_run(
    p: TrainPlan,
    adapter: frameworks.FrameworkAdapter,
    loop: Callable[..., Any],
    relay: Any,
    datasets: dict[str, Any] | None,
    began: float,
) -> Outcome:
    """One Ray Train run (``TorchTrainer`` & co.) of ``p``."""
    from raydt import ray_config
    from raydt.ray_compat import train as ray_compat

    ray_compat.retry_system_failures_only()  # an exception from the trainer is not retried
    # a worker group that cannot be scheduled within pendingTimeoutS ends the run (never a hang); elastic
    # runs instead wait for capacity and resize, as Ray Train does
    run_config = ray_config.train_run(
        p, callbacks(relay), adapter.worker_env(), controller_failure_limit=-1 if p.workers.elastic else 0
    )
    with_data: dict[str, Any] = {}
    if datasets is not None:  # dataConfig: Ray Data shards, read by each worker (get_dataset_shard)
        with_data = {"datasets": datasets, "dataset_config": data.dataset_config()}
    trainer = adapter.trainer_class()(
        loop,
        train_loop_config=p.loop_config,
        scaling_config=ray_config.scaling(p.workers),
        run_config=run_config,
        **with_data,
    )
    start = time.monotonic()
    res = trainer.fit()
    relay.close()
    last = res.checkpoint.path if res.checkpoint is not None else None
    return Outcome(
        relay.history,
        relay.worker_errors,
        res.path,
        time.monotonic() - start,
        last,
        began=began,
        preemptions=relay.preemptions,
    )


def callbacks(relay: Any) -> list[Any]:
    """Ray Train's callbacks of a run: the relay's (each report, each worker failure) and, on the controller,
    ``PreemptionEvents`` (a node drained for preemption, a restart after one), both sent to the relay's queue."""
    from raydt.ray_compat import train as ray_compat

    relayed = relay.callback()
    return [relayed, ray_compat.PreemptionEvents(relayed.send)]
