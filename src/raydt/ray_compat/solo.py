"""Ray Train's checkpoint bookkeeping for a 1-worker train run whose loop runs in one Ray actor (``runners.solo``),
with no Ray Train controller and no worker group. Imports Ray Train: loaded on that actor only.

Why private: a 1-worker Train run spends ~10 s between ``fit()`` and the first line of its loop (a controller
actor, a worker group, a fresh process importing the framework). Ray Train's own local mode (``num_workers=0``)
skips them, but keeps checkpoints in memory only and persists nothing. raydt keeps the local mode's entry point
(``LocalTrainFnUtils``, what ``ray.train.report`` & co. call) and gives it what a Train run's controller does for
one worker: the checkpoint copied to the run's storage by Ray Train's ``StorageContext``, kept or deleted by its
``CheckpointManager`` (``numToKeep`` by the score; its ``checkpoint_manager_snapshot.json`` is what a Train run
restores from), so the experiment folder, ``raydt resume`` and a retried attempt are as with ``TorchTrainer``.
None of the three has a public API.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ray.cloudpickle
import ray.train
from ray.train.v2._internal.execution.checkpoint.checkpoint_manager import CheckpointManager
from ray.train.v2._internal.execution.storage import StorageContext
from ray.train.v2._internal.execution.train_fn_utils import LocalTrainFnUtils, set_train_fn_utils
from ray.train.v2._internal.execution.training_report import _TrainingReport

from raydt.ray_compat.train import node_drained

Send = Callable[[dict[str, Any]], None]


class SoloCheckpoints:
    """A Train run's checkpoints on its storage, for one worker: persisted, ranked, pruned, restorable.

    ``CheckpointManager`` notifies its listeners through an ``asyncio.Condition``; it is built and called on one
    private event loop so that the condition stays bound to it.
    """

    def __init__(self, storage_path: str, name: str, checkpoint_config: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.storage = StorageContext(storage_path=storage_path, experiment_dir_name=name)

        async def build() -> CheckpointManager:  # restores the snapshot of an earlier attempt, if any
            return CheckpointManager(checkpoint_config=checkpoint_config, storage_context=self.storage)

        self.manager = self.loop.run_until_complete(build())

    def latest(self) -> ray.train.Checkpoint | None:
        """The newest checkpoint of this run (an earlier attempt's, on a retry or a resume)."""
        result = self.manager.latest_checkpoint_result
        return result.checkpoint if result is not None else None

    def save(self, checkpoint: ray.train.Checkpoint, metrics: dict[str, Any]) -> ray.train.Checkpoint:
        """Copy ``checkpoint`` into the run's folder and register it (which may delete worse ones)."""
        persisted = self.storage.persist_current_checkpoint(
            checkpoint, StorageContext.make_default_checkpoint_dir_name()
        )

        async def register() -> None:
            self.manager.register_checkpoint(_TrainingReport(checkpoint=persisted, metrics=metrics, validation=False))

        self.loop.run_until_complete(register())
        return persisted


class SoloBridge(LocalTrainFnUtils):  # type: ignore[misc]
    """``ray.train.report`` / ``get_checkpoint`` / ``get_preemption_info`` of the one worker: checkpoints are
    persisted as a Train run's, each report goes to the driver (``send``: the relay's queue) as
    ``RelayCallback.after_report`` sends it, and a drain of this actor's node is told once."""

    def __init__(self, name: str, checkpoints: SoloCheckpoints, send: Send, shards: dict[str, Any] | None) -> None:
        super().__init__(experiment_name=name, dataset_shards=shards)
        self.checkpoints = checkpoints
        self.send = send
        self.told_drain = False

    def report(self, metrics: dict[str, Any], checkpoint: Any = None, **_: Any) -> None:
        # a Train worker's report travels to its controller: metrics Ray cannot serialize fail there, so here too
        # (the relay would only drop them)
        ray.cloudpickle.dumps(dict(metrics))
        persisted = self.checkpoints.save(checkpoint, dict(metrics)) if checkpoint is not None else None
        self.send({"metrics": dict(metrics), "checkpoint": persisted.path if persisted else None, "time": time.time()})

    def get_checkpoint(self) -> Any:
        return self.checkpoints.latest()

    def get_preemption_info(self) -> Any:
        info = node_drained()
        if info is not None and not self.told_drain:
            self.told_drain = True
            self.send(
                {
                    "event": "preemption_notice",
                    "nodes": list(info.preempted_node_ids),
                    "ranks": [0],
                    "deadlineMs": info.deadline_ms,
                    "time": time.time(),
                }
            )
        return info


@contextmanager
def solo_train_api(bridge: SoloBridge) -> Iterator[SoloBridge]:
    """Make ``bridge`` the Ray Train context of this process while the loop runs (Ray Train's local-mode hook)."""
    set_train_fn_utils(bridge)
    try:
        yield bridge
    finally:
        set_train_fn_utils(None)
