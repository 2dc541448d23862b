"""Carry every ``ray.train.report`` from Ray Train's controller to the driver, as it happens.

Ray Train calls ``UserCallback.after_report`` on its controller actor; the callback puts a small
record on a Ray queue (an actor with no CPU) that a driver thread drains into ``history`` and the
live view. Works the same on a remote cluster. Imports Ray: load only for a run.
"""

from __future__ import annotations

import json
import os
import queue as stdlib_queue
import threading
import time
from typing import Any

import ray.train
from ray.util.queue import Queue

from raydt import ray_compat
from raydt.experiment.ledger import clip_error
from raydt.paths import is_remote
from raydt.progress import ProgressView


def local_queue() -> Queue:
    """A Ray queue whose actor lives on this process's node.

    Left to the scheduler, the queue actor may land on a worker node; losing that node (which elastic
    training survives) would then break the relay and, through the callback, the controller itself.
    """
    options: dict[str, Any] = {"num_cpus": 0}
    try:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        node = ray.get_runtime_context().get_node_id()
        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id=node, soft=False)
    except Exception:  # noqa: BLE001 - e.g. a Ray Client driver has no node of its own: let Ray place it
        pass
    return Queue(actor_options=options)


class RelayCallback(ray.train.UserCallback):  # type: ignore[misc]
    """Runs on the controller: forwards rank 0's metrics and the checkpoint path of each report."""

    def __init__(self, target: Queue) -> None:
        self.target = target

    def after_report(self, run_context: Any, metrics: list[dict[str, Any]], checkpoint: Any) -> None:
        row = dict(metrics[0]) if metrics else {}
        record = {"metrics": row, "checkpoint": checkpoint.path if checkpoint else None, "time": time.time()}
        self.send(record)

    def after_exception(self, run_context: Any, worker_exceptions: dict[int, Exception]) -> None:
        errors = {int(rank): clip_error(f"{type(e).__name__}: {e}") for rank, e in worker_exceptions.items()}
        item: dict[str, Any] = {"event": "worker_error", "errors": errors, "time": time.time()}
        if any(ray_compat.lost_to_preemption(e) for e in worker_exceptions.values()):
            # the worker's node was drained for preemption: Ray Train counts the restart against maxPreemptions, and
            # ray_compat.train.PreemptionEvents reports it as one
            item["preempted"] = True
        self.send(item)

    def send(self, item: dict[str, Any]) -> None:
        """Forward ``item``; the relay is for progress and results, it must never fail the training."""
        try:
            self.target.put(item, timeout=30)
        except Exception:  # noqa: BLE001 - the driver (and its queue) is gone or unreachable
            pass


class Relay:
    """Driver side: owns the queue, drains it on a thread, keeps the history of reports, and appends each
    record to the experiment's train ledger (``raydt report`` draws the run from it: Ray Train keeps only the
    metrics of the checkpoints it keeps)."""

    def __init__(self, view: ProgressView, experiment_path: str | None = None) -> None:
        self.view = view
        self.ledger = _ledger(experiment_path)
        self._write({"event": "start", "time": time.time()})
        self.queue = local_queue()
        self.history: list[dict[str, Any]] = []
        self.worker_errors: list[dict[str, Any]] = []
        self.preemptions: list[dict[str, Any]] = []  # restarts after a node drained for preemption
        self._lost: dict[Any, str] | None = None  # the workers last lost with a drained node
        self._stop = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._poll, name="raydt-relay", daemon=True)
        self._thread.start()

    def callback(self) -> RelayCallback:
        return RelayCallback(self.queue)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                item = self.queue.get(block=True, timeout=0.5)
            except (stdlib_queue.Empty, ray.util.queue.Empty):
                continue
            except Exception:  # the queue actor is gone: nothing more will come
                return
            self._take(item)

    def _write(self, item: dict[str, Any]) -> None:
        """Append ``item`` to the ledger; the ledger serves reports and explain only, it never fails the training."""
        if self.ledger is None:
            return
        try:
            with open(self.ledger, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"event": "report", **item}, default=str) + "\n")
        except (OSError, TypeError, ValueError):
            pass

    def _take(self, item: dict[str, Any]) -> None:
        event = item.get("event")
        if event == "worker_error" and item.get("preempted"):
            # Ray Train polls a drained group until the deadline: the same lost workers come each poll, written once
            if item["errors"] != self._lost:
                self._lost = item["errors"]
                self._write(item)
            return
        self._write(item)
        if event in PREEMPTION_EVENTS:
            self._preemption(item)
            return
        if event == "worker_error":
            self.worker_errors.append(item)
            self.view.event(f"worker failure: {item['errors']}")
            self._postmortem(item["errors"])
            return
        self.history.append(item)
        self.view.report(item["metrics"], len(self.history), item["checkpoint"] is not None)

    def _preemption(self, item: dict[str, Any]) -> None:
        """A drain notice or a restart after one (``ray_compat.train.PreemptionEvents``). A worker lost with its
        drained node stays in the ledger only: Ray Train counts it as the preemption the restart event reports."""
        ranks = ", ".join(str(r) for r in item.get("ranks") or []) or "?"
        if item["event"] == "preemption_notice":
            deadline = item.get("deadlineMs")
            left = f", {max(0.0, deadline / 1000 - time.time()):.0f}s before it goes" if deadline else ""
            self.view.event(
                f"node drained for preemption (worker rank(s) {ranks}{left}): raydt's loops checkpoint at each epoch"
                " end until Ray Train restarts the workers"
            )
        elif item["event"] == "preempted":
            self.preemptions.append(item)
            self.view.event(f"restarting the workers after a preemption (rank(s) {ranks}): from the last checkpoint")

    def _postmortem(self, errors: dict[Any, str]) -> None:
        """Copy what ``raydt explain`` needs of the failure into the experiment (``experiment.postmortem``)."""
        if self.ledger is None:
            return
        from raydt.experiment import postmortem

        text = "\n\n".join(f"rank {rank}: {error}" for rank, error in sorted(errors.items(), key=lambda e: str(e[0])))
        experiment = os.path.dirname(self.ledger)
        postmortem.record(experiment, "train", text, run_name=os.path.basename(experiment))

    def close(self) -> None:
        """Stop the thread, take what is left on the queue, free the queue actor (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            while True:
                self._take(self.queue.get_nowait())
        except Exception:
            pass
        try:
            self.queue.shutdown(force=True)
        except Exception:
            pass


#: the relay records of ``ray_compat.train.PreemptionEvents``
PREEMPTION_EVENTS = ("preemption_notice", "preempted")


def _ledger(experiment_path: str | None) -> str | None:
    """The train ledger's file in a local experiment directory (None: no ledger, or the storage is a URI)."""
    if not experiment_path or is_remote(experiment_path):
        return None
    from raydt.experiment.ledger import TRAIN_LEDGER

    try:
        os.makedirs(experiment_path, exist_ok=True)
    except OSError:
        return None
    return os.path.join(experiment_path, TRAIN_LEDGER)
