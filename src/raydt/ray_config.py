"""The one place that turns a plan into Ray's config objects (ScalingConfig, RunConfig, CheckpointConfig,
FailureConfig), for a train run, for each distributed trial's own Train run, and for a search; and into the
settings Ray reads from the environment (``run_env``, ``FAST_TRAIN_ENV``), set only for as long as a run or a
connection needs them (``scoped_env``: an API that runs several specs in one process leaks none of them).

Building them in one place keeps the three from drifting (a distributed trial once lost
``accelerator_type``). Ray is imported inside the builders only: loaded with this module, it costs nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from raydt.plan import TrainPlan, WorkerPlan

#: Ray Train's controller polls workers this often; Ray's default (2 s) makes every report block ~2 s. Set, unless
#: the user set it, for a whole connection (``ray_session.connect``): the Ray processes ``ray.init`` starts inherit
#: it, and the job's ``runtime_env`` carries it to every worker.
FAST_TRAIN_ENV = {"RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.2"}


def run_env(p: TrainPlan, *, search: bool = False) -> dict[str, str]:
    """The settings Ray reads from the environment of the process that hands ``p``'s work to Ray, set there by
    ``scoped_env`` while the work runs (``runners.skeleton`` around a run's fit, ``runners.trials`` around a
    distributed trial's own Train run).

    - A Train run (the driver's, or a distributed trial's): ``RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S`` is
      ``pendingTimeoutS``, read by Ray Train's controller: a worker group that cannot be scheduled in time ends
      the run (never a hang).
    - A search (``search``), in the driver: ``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS``, since Tune's automatic loggers
      would add TensorBoard's (seconds to import, a file per trial) while raydt passes the CSV and JSON loggers
      its results need, TensorBoard's only when asked for; ``TUNE_DISABLE_STRICT_METRIC_CHECKING``, since
      raydt's SearchStopper checks the metric in every result and says what was reported instead.
    """
    if search:
        return {"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1", "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1"}
    return {"RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S": str(p.pending_timeout_s)}


def token_auth_env(token_file: str) -> dict[str, str | None]:
    """Around a connection to the cluster ``raydt cluster up`` started: Ray's token authentication on, with that
    cluster's token file (the token itself is never printed), and no ``RAY_AUTH_TOKEN`` of another cluster."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": token_file, "RAY_AUTH_TOKEN": None}


@contextmanager
def scoped_env(values: Mapping[str, str | None], *, keep_set: bool = False) -> Iterator[None]:
    """``values`` in ``os.environ`` for the block (None: the variable unset), then the environment as it was:
    a value that existed before comes back, a variable the block added is removed, however the block ends.

    ``keep_set``: a variable the environment already holds keeps its value (the user's setting wins).
    """
    before = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if keep_set and before[key] is not None:
            continue
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, old in before.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def scaling(workers: WorkerPlan) -> Any:
    """Ray Train's ``ScalingConfig``: explicit resources for every worker (elastic: ``(min, max)``)."""
    from ray.train import ScalingConfig

    return ScalingConfig(
        num_workers=workers.ray_num_workers(),
        use_gpu=workers.use_gpu,
        resources_per_worker=workers.resources,
        placement_strategy=workers.placement_strategy,
        accelerator_type=workers.accelerator_type,
    )


def solo_actor(workers: WorkerPlan) -> dict[str, Any]:
    """The Ray actor options of a 1-worker train run's one worker (``runners.solo``): the worker's resources as
    ``ScalingConfig(resources_per_worker=...)`` reserves them, its accelerator type, and no restarts (raydt retries
    a lost worker itself, against maxFailures / maxPreemptions, from the last checkpoint)."""
    res = dict(workers.resources)
    options: dict[str, Any] = {
        "num_cpus": res.pop("CPU", 0.0),
        "num_gpus": res.pop("GPU", 0.0),
        "max_restarts": 0,
        "max_task_retries": 0,
    }
    memory = res.pop("memory", 0.0)
    if memory:
        options["memory"] = memory
    if res:
        options["resources"] = res
    if workers.accelerator_type:
        options["accelerator_type"] = workers.accelerator_type
    return options


def train_run(
    p: TrainPlan,
    callbacks: list[Any],
    worker_env: dict[str, str],
    *,
    name: str | None = None,
    storage_path: str | None = None,
    keep_latest: int | None = None,
    controller_failure_limit: int | None = None,
) -> Any:
    """Ray Train's ``RunConfig`` for ``p``: its best ``numToKeep`` checkpoints by the metric, or, for a
    distributed trial's own run (named after the trial, under the experiment), the ``keep_latest`` newest
    ones (a retried trial resumes from the latest; Tune keeps the trial's own copies). Restarts after a failure
    count against ``maxFailures``, after a node drained for preemption against ``maxPreemptions`` (Ray Train's
    ``FailureConfig.max_preemption_failures``).

    ``controller_failure_limit``: 0 ends a run whose worker group cannot be scheduled within
    ``pendingTimeoutS`` (never a hang); None keeps Ray's default.
    """
    from ray.train import CheckpointConfig, FailureConfig, RunConfig

    if keep_latest is not None:
        checkpoints = CheckpointConfig(num_to_keep=keep_latest)
    else:
        checkpoints = CheckpointConfig(
            num_to_keep=p.num_to_keep,
            checkpoint_score_attribute=p.checkpoint_score[0],
            checkpoint_score_order=p.checkpoint_score[1],
        )
    # runConfig.maxPreemptions: Ray Train's own budget for restarts after a node drain (-1: no limit)
    failure: dict[str, Any] = {
        "max_failures": p.max_failures,
        "max_preemption_failures": -1 if p.max_preemptions is None else p.max_preemptions,
    }
    if controller_failure_limit is not None:
        failure["controller_failure_limit"] = controller_failure_limit
    return RunConfig(
        name=name or p.name,
        storage_path=storage_path or p.storage_path,
        checkpoint_config=checkpoints,
        failure_config=FailureConfig(**failure),
        callbacks=callbacks,
        worker_runtime_env={"env_vars": worker_env} if worker_env else None,
    )


def tune_run(p: TrainPlan, max_failures_per_trial: int, stop: Any, callbacks: list[Any]) -> Any:
    """Ray Tune's ``RunConfig`` for a search (a ``ray.train.RunConfig`` fails inside a Tuner)."""
    from ray import tune

    return tune.RunConfig(
        name=p.name,
        storage_path=p.storage_path,
        checkpoint_config=tune.CheckpointConfig(
            num_to_keep=p.num_to_keep,
            checkpoint_score_attribute=p.checkpoint_score[0],
            checkpoint_score_order=p.checkpoint_score[1],
        ),
        failure_config=tune.FailureConfig(max_failures=max_failures_per_trial),
        stop=stop,
        callbacks=callbacks,
        verbose=0,
    )
