"""A 1-worker train run's fast path (``runConfig.fastPath``, on by default): the loop runs in one Ray actor that
reserves the worker's resources, with no Ray Train controller and no worker group.

Why: a 1-worker Ray Train run spends ~10 s between ``fit()`` and the first line of its loop (a controller actor,
a worker group, health checks, a fresh process importing the framework), while the same work as a 1-trial
search starts in ~4 s. What a Train run gives one worker stays: checkpoints persisted to the same folder and
pruned by ``numToKeep`` (Ray Train's own checkpoint manager, ``ray_compat.solo``), ``raydt resume`` from its
snapshot, each report relayed to the driver (``progress.relay``: ledger, live view, MLflow), a lost worker
restarted from the last checkpoint against ``maxFailures`` (a node drained for preemption against
``maxPreemptions``), the user's own exception never retried, ``pendingTimeoutS``, Ctrl-C. Imports Ray: loaded
only for a run.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import ray

from raydt.errors import NodePreemptedError, RunError, UserCodeError, failure_class
from raydt.plan import TrainPlan
from raydt.progress.relay import Relay, RelayCallback
from raydt.runners.train_failure import first_line, pending_timeout, with_details


class SoloWorker:
    """The run's one training worker (a Ray actor: ``ray_config.solo_actor`` gives its resources)."""

    def ready(self) -> str:
        return str(ray.get_runtime_context().get_node_id())

    def run(self, job: dict[str, Any], loop: Callable[..., Any], datasets: dict[str, Any] | None) -> str | None:
        """Run the loop with Ray Train's API bridged to this actor (``ray_compat.solo``); the latest checkpoint."""
        os.environ.update(job["env"])  # the framework's worker settings, before it is imported
        if job["module"]:
            __import__(job["module"])  # ray.train.torch, loaded as a Train worker has it
        from raydt.ray_compat.solo import SoloBridge, SoloCheckpoints, solo_train_api
        from raydt.trainer_ref import call_loop

        checkpoints = SoloCheckpoints(job["storage"], job["name"], job["checkpoints"])
        shards = {name: ds.iterator() for name, ds in datasets.items()} if datasets else None
        bridge = SoloBridge(job["name"], checkpoints, RelayCallback(job["queue"]).send, shards)
        with solo_train_api(bridge):
            call_loop(loop, job["config"])
        latest = checkpoints.latest()
        return latest.path if latest is not None else None


class Budget:
    """The restarts left: ``maxFailures`` for lost workers, ``maxPreemptions`` for nodes drained for preemption."""

    def __init__(self, p: TrainPlan) -> None:
        self.p = p
        self.failures = 0
        self.preemptions = 0

    def spend(self, preempted: bool) -> bool:
        """Count one restart; False when its budget is spent (-1 / None: no limit)."""
        if preempted:
            self.preemptions += 1
            return self.p.max_preemptions is None or self.preemptions <= self.p.max_preemptions
        self.failures += 1
        return self.p.max_failures < 0 or self.failures <= self.p.max_failures


def fit(
    p: TrainPlan, worker_env: dict[str, str], loop: Callable[..., Any], relay: Relay, datasets: dict[str, Any] | None
) -> tuple[str | None, float]:
    """Run the loop on one actor until it returns (the latest checkpoint's path, the seconds it took), restarting
    a lost actor from the last checkpoint; raise raydt's error when it fails for good."""
    from raydt import ray_config

    run_config = ray_config.train_run(p, [], worker_env)  # the checkpoint config a Train run of p would have
    job = {
        "env": worker_env,
        "module": p.framework.trainer_module,
        "storage": run_config.storage_path,
        "name": run_config.name,
        "checkpoints": run_config.checkpoint_config,
        "queue": relay.queue,
        "config": p.loop_config,
    }
    send = RelayCallback(relay.queue).send
    actor_class = ray.remote(SoloWorker).options(**ray_config.solo_actor(p.workers))
    budget, start = Budget(p), time.monotonic()
    while True:
        actor, node = actor_class.remote(), None
        try:
            ready = actor.ready.remote()
            if not ray.wait([ready], timeout=p.pending_timeout_s)[0]:
                raise pending_timeout(p)
            node = ray.get(ready)
            last: str | None = ray.get(actor.run.remote(job, loop, datasets))
            return last, time.monotonic() - start
        except ray.exceptions.RayError as exc:
            # into the run's log file, as Ray Train's controller logs a worker's failure: raydt explain reads it there
            print(f"(SoloWorker) training worker 0 failed: {exc}", file=sys.stderr, flush=True)
            cause = _cause(exc)
            text = f"{type(cause).__name__}: {cause}"
            preempted = bool(getattr(exc, "preempted", False)) or failure_class(cause) is NodePreemptedError
            lost = preempted or failure_class(cause) is not UserCodeError
            send({"event": "worker_error", "errors": {0: text[:2000]}, "time": time.time(), "preempted": preempted})
            if lost and budget.spend(preempted):
                if preempted:
                    send(
                        {"event": "preempted", "error": text[:500], "nodes": [node], "ranks": [0], "time": time.time()}
                    )
                continue
            raise _error(p, exc, cause, preempted, relay) from None
        finally:
            ray.kill(actor, no_restart=True)


def _cause(exc: BaseException) -> BaseException:
    """The user's exception inside Ray's ``RayTaskError`` (itself when it did not unpickle), else ``exc``."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def _error(p: TrainPlan, exc: BaseException, cause: BaseException, preempted: bool, relay: Relay) -> RunError:
    """raydt's error for a failure that is not retried (again), worded as ``train_failure.classify`` words Ray
    Train's: the worker's own exception, a lost worker past maxFailures, a preemption past maxPreemptions."""
    relay.close()  # the history must hold every report before the details count them
    if preempted:
        limit = "no limit" if p.max_preemptions is None else p.max_preemptions
        err: RunError = NodePreemptedError(
            "a node of the run was drained for preemption more often than runConfig.maxPreemptions "
            f"({limit}) allows: {first_line(cause)}"
        )
    else:
        err = failure_class(cause)(f"training worker 0 raised {type(cause).__name__}: {first_line(cause)}")
    return with_details(err, exc, cause, relay.history, p)
