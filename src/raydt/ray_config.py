"""The one place that turns a plan into Ray's config objects (ScalingConfig, RunConfig, CheckpointConfig,
FailureConfig), for a train run, for each distributed trial's own Train run, and for a search.

Building them in one place keeps the three from drifting (a distributed trial once lost
``accelerator_type``). Imports Ray: loaded only for a run.
"""

from __future__ import annotations

from typing import Any

from raydt.plan import TrainPlan, WorkerPlan


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
    ones (a retried trial resumes from the latest; Tune keeps the trial's own copies).

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
    failure: dict[str, Any] = {"max_failures": p.max_failures}
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
