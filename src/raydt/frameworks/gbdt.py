"""What the built-in gradient-boosting loops (XGBoost, LightGBM) share, in the order a loop uses it: this worker's
rows, the booster a run continues from, the checkpoint's ``raydt_meta.json`` and Ray's report callback that also
writes raydt's files into each checkpoint. Runs on the workers; Ray is imported inside each function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from raydt.frameworks import data as builtin_data
from raydt.frameworks.common import Drain, checkpoint_every, starting_checkpoint
from raydt.frameworks.data import Split


def worker_rows(config: dict[str, Any]) -> tuple[Split, Any, Any, int]:
    """The data, this worker's training rows and labels, and the number of workers.

    With ``dataConfig`` the data is already this worker's shard; the bundled breast cancer data is held whole by
    every worker, each training on its part (split by rank).
    """
    import ray.train

    data = builtin_data.load(config, builtin_data.breast_cancer)
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    x, y = data.x_train, data.y_train
    if data.mean is not None:  # the bundled data: every worker holds all of it, each trains on its part
        x, y = x[rank::world], y[rank::world]
    return data, x, y, world


def resumed(
    config: dict[str, Any], callback_cls: type[Any], rounds_of: Callable[[Any], int], **options: Any
) -> tuple[Any, int]:
    """The booster the run continues from (Ray Train's checkpoint, else trainConfig.resumeFromCheckpoint), read by
    Ray's ``RayTrainReportCallback.get_model`` with ``options``, and the rounds it has: ``(None, 0)`` for none."""
    checkpoint = starting_checkpoint(config)
    if checkpoint is None:
        return None, 0
    booster = callback_cls.get_model(checkpoint, **options)
    return booster, rounds_of(booster)


def checkpoint_meta(
    framework: str, module: str, data: Split, config: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    """The checkpoint's ``raydt_meta.json``: the feature count and the scalar ``values`` as its ``config``."""
    scalars = {k: v for k, v in values.items() if isinstance(v, int | float | str)}
    return builtin_data.checkpoint_meta(
        framework, module, data, config, numFeatures=int(data.x_train.shape[1]), config=scalars
    )


def report_callback(
    callback_cls: type[Any], config: dict[str, Any], meta: dict[str, Any], metrics: dict[str, str], **options: Any
) -> Any:
    """Ray's ``RayTrainReportCallback`` (``callback_cls``), reporting ``metrics`` (raydt's name: the booster's) every
    runConfig.checkpoint.frequency rounds (every round once a node of the run is drained for preemption); each
    checkpoint also gets ``raydt_meta.json`` and the fitted dataConfig pipeline."""
    from raydt.ray_compat.train import report_callback_with_files

    def add_files(path: str) -> None:
        builtin_data.write_checkpoint_files(path, meta, config)

    drain = Drain()  # a node drained for preemption: every round is checkpointed until the restart
    return report_callback_with_files(
        callback_cls, add_files, drain, metrics=metrics, frequency=checkpoint_every(config), **options
    )
