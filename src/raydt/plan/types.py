"""The plan's types: what runners hand to Ray, resolved from a validated spec (no Ray import)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from raydt import space, trainer_ref
from raydt.plan.cost import Prices
from raydt.plan.search import SearchSettings
from raydt.plan.tracking import MlflowPlan
from raydt.registry import FrameworkInfo

DEFAULT_STORAGE = "~/raydt_results"
DEFAULT_NUM_SAMPLES = 10


@dataclass(frozen=True)
class WorkerPlan:
    """The scaling of one training run: explicit resources for every worker."""

    num_workers: int  # the most workers (elastic: max)
    use_gpu: bool
    resources: dict[str, float]  # Ray resource names: {"CPU": 1.0, "GPU": 1.0}
    placement_strategy: str = "PACK"
    accelerator_type: str | None = None
    min_workers: int | None = None  # elastic training: the fewest workers the run continues with

    @property
    def elastic(self) -> bool:
        return self.min_workers is not None and self.min_workers < self.num_workers

    def ray_num_workers(self) -> int | tuple[int, int]:
        """ScalingConfig.num_workers: an int, or (min, max) for elastic training."""
        return (self.min_workers or 1, self.num_workers) if self.elastic else self.num_workers

    def total(self) -> dict[str, float]:
        """What all workers together reserve."""
        return {k: v * self.num_workers for k, v in self.resources.items() if v}


@dataclass(frozen=True)
class TrainPlan:
    """Everything a train run needs, resolved from the spec."""

    mode: str
    framework: FrameworkInfo
    trainer: trainer_ref.TrainerRef | None  # None: the framework's built-in trainer
    workers: WorkerPlan
    loop_config: dict[str, Any]
    metric: str
    metric_mode: str
    name: str
    storage_path: str
    num_to_keep: int | None
    address: str | None
    max_failures: int = 2
    max_preemptions: int | None = None  # runConfig.maxPreemptions (None: no limit)
    score_attribute: str | None = None  # None: the metric
    score_order: str | None = None  # None: the metric mode
    resume: str = "auto"
    shared_storage: bool = False
    tensorboard: bool = False
    report: bool = False  # runConfig.report: write the experiment report when the run ends
    pending_timeout_s: float = 600.0
    fast_path: bool = True  # runConfig.fastPath: a 1-worker train run's loop in one actor (runners.solo)
    ray_init: dict[str, Any] = field(default_factory=dict)
    autoscaling: bool | None = None  # None: detect
    tracking: MlflowPlan | None = None  # runConfig.tracking.mlflow
    prices: Prices | None = None  # config.costPerHour: results.cost at the end of the run

    @property
    def experiment_path(self) -> str:
        return os.path.join(self.storage_path, self.name)

    @property
    def solo(self) -> bool:
        """The run's loop runs in one Ray actor, without Ray Train's controller (``runners.solo``)."""
        return self.fast_path and self.workers.num_workers == 1 and not self.workers.elastic

    @property
    def checkpoint_score(self) -> tuple[str, str]:
        """(attribute, order) that rank checkpoints."""
        return self.score_attribute or self.metric, self.score_order or self.metric_mode


@dataclass(frozen=True)
class ServePlan:
    """The paths a serve run reads, resolved (``raydt.paths``): what to serve, and the user's predictor."""

    checkpoint_path: str | None  # serveConfig.checkpointPath
    experiment_path: str | None  # serveConfig.experimentPath (its best checkpoint is served)
    predictor: str | None  # 'file.py:Class' with the file absolute, or 'module:Class'; None: the built-in one


@dataclass(frozen=True)
class TunePlan:
    """A ``mode: tune`` run: the per-trial training plan plus the search settings."""

    train: TrainPlan  # loop_config holds the fixed hyperparameters; metric/metric_mode are the tune ones
    kind: str  # "train": a Ray Train loop; "tune": a Ray Tune function trainable
    search_space: space.Group  # parsed once, here: the runners hand its to_tune()/mutations()/bounds() to Ray
    num_samples: int
    scheduler: str
    scheduler_options: dict[str, Any]
    searcher: str
    searcher_options: dict[str, Any]
    choice_reason: str  # why this searcher/scheduler pair, for the result
    max_concurrent: int | None
    time_budget_s: float | None
    stop_at: float | None
    seed: int | None
    max_failures_per_trial: int = 2
    reuse_actors: bool | None = None  # None: on unless trials are distributed
    search: SearchSettings = field(default_factory=SearchSettings)  # raydt.search: objectives, constraints, ...

    @property
    def reuse(self) -> bool:
        """Whether successive trials share a Ray actor (each still starts from fresh trainer state)."""
        return (not self.distributed) if self.reuse_actors is None else self.reuse_actors

    @property
    def num_trials(self) -> int:
        """Trials a search that runs to its end creates: numSamples x grid points (a grid of 5 with numSamples 1
        is 5 trials)."""
        return self.num_samples * self.search_space.grid_points()

    @property
    def distributed(self) -> bool:
        """Trials run a Ray Train worker group (else the loop runs inside the Tune trial itself)."""
        return self.kind == "train" and self.train.workers.num_workers > 1
