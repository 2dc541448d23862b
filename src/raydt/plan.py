"""Resolve a validated spec into the concrete values runners hand to Ray (still no Ray import).

Every path the spec reads is resolved here, once, by ``raydt.paths`` (the plan carries the absolute paths on),
and the search space is parsed into ``raydt.space``'s typed tree, which the runners translate for Ray Tune.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from raydt import paths, space, trainer_ref
from raydt.frameworks.common import RESERVED_KEY  # built-in loops' settings in their config; never in bestConfig
from raydt.frameworks.pytorch.user.settings import user_model_defaults, user_model_settings
from raydt.registry import FRAMEWORKS, FrameworkInfo
from raydt.search.settings import SearchSettings, settings
from raydt.spec.loader import LoadedSpec
from raydt.spec.model import Spec
from raydt.tracking.settings import MlflowPlan as MlflowPlan  # re-exported: plans are read from here
from raydt.tracking.settings import mlflow as mlflow

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
    score_attribute: str | None = None  # None: the metric
    score_order: str | None = None  # None: the metric mode
    resume: str = "auto"
    shared_storage: bool = False
    tensorboard: bool = False
    report: bool = False  # runConfig.report: write the experiment report when the run ends
    pending_timeout_s: float = 600.0
    ray_init: dict[str, Any] = field(default_factory=dict)
    autoscaling: bool | None = None  # None: detect
    tracking: MlflowPlan | None = None  # runConfig.tracking.mlflow

    @property
    def experiment_path(self) -> str:
        return os.path.join(self.storage_path, self.name)

    @property
    def checkpoint_score(self) -> tuple[str, str]:
        """(attribute, order) that rank checkpoints."""
        return self.score_attribute or self.metric, self.score_order or self.metric_mode


def workers(loaded: LoadedSpec) -> WorkerPlan:
    """Resolve ``config`` (and ``trainConfig.scalingConfig``) into explicit per-worker resources."""
    cfg, sc = loaded.spec.config, loaded.spec.train_config.scaling_config  # typed: a value in sc wins
    given = cfg.num_workers if sc.num_workers is None else sc.num_workers
    use_gpu = cfg.use_gpu if sc.use_gpu is None else sc.use_gpu
    ours, base = sc.resources_per_worker, cfg.resources_per_worker
    cpu = base.cpu if ours is None or ours.cpu is None else ours.cpu
    gpu = base.gpu if ours is None or ours.gpu is None else ours.gpu
    memory_gb = base.memory_gb if ours is None or ours.memory_gb is None else ours.memory_gb
    resources = {"CPU": 1.0 if cpu is None else cpu}
    if use_gpu:
        resources["GPU"] = 1.0 if gpu is None else gpu
    if memory_gb:
        resources["memory"] = memory_gb * 1e9
    resources.update({k: float(v) for k, v in ((ours.custom if ours else None) or base.custom).items()})
    return WorkerPlan(
        num_workers=given if isinstance(given, int) else given.max,
        use_gpu=use_gpu,
        resources=resources,
        placement_strategy=sc.placement_strategy or "PACK",
        accelerator_type=sc.accelerator_type,
        min_workers=None if isinstance(given, int) else given.min,
    )


def storage_path(spec: Spec) -> str:
    """Where the run's experiment (and the CLI's log folder) goes: ``runConfig.storagePath``, resolved once."""
    return paths.output_dir(spec.run_config.storage_path or DEFAULT_STORAGE)


def default_name(mode: str) -> str:
    """``raydt-<mode>-<timestamp>-<4 hex>``: two runs started in the same second are two experiments (a
    taken name would continue the other run, or be refused for a different spec)."""
    import secrets

    return f"raydt-{mode}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def address(loaded: LoadedSpec) -> str | None:
    """``config.address`` (``local``: a fresh embedded Ray), else ``RAY_ADDRESS``, else the cluster
    ``raydt cluster up`` started when it runs, else None (embedded local Ray)."""
    from raydt.clusters import detect

    return loaded.spec.config.address or os.environ.get("RAY_ADDRESS") or detect.running_address()


def builtin_config(info: FrameworkInfo, given: dict[str, Any], epochs: int | None) -> dict[str, Any]:
    """The built-in trainer's effective hyperparameters: defaults, then the spec (aliases folded in)."""
    config = info.hyperparameters(given)
    if epochs is not None:
        config[info.epochs_param] = epochs
    return config


def train(loaded: LoadedSpec) -> TrainPlan:
    """The plan of a ``mode: train`` run."""
    spec = loaded.spec
    tc = spec.train_config
    info = FRAMEWORKS[tc.framework]
    ref = None
    if tc.trainer_path is not None:
        parsed = trainer_ref.parse(tc.trainer_path, loaded.base_dirs)
        assert isinstance(parsed, trainer_ref.TrainerRef)  # validated by spec.checks
        ref = parsed
        loop_config = dict(tc.train_loop_config)
        if tc.epochs is not None:
            loop_config["epochs"] = tc.epochs
    elif tc.model is not None:  # the user's model in raydt's loop: its keys' defaults, then the spec
        # pytorch: raydt's own loop's keys; a framework with no built-in model (lightning) declares its loop's
        defaults = user_model_defaults() if info.name == "pytorch" else info.hyperparameters({})
        loop_config = {**defaults, **tc.train_loop_config}
        if tc.epochs is not None:
            loop_config["epochs"] = tc.epochs
    else:
        loop_config = builtin_config(info, tc.train_loop_config, tc.epochs)
    rc = spec.run_config
    resume_from = None
    if tc.resume_from_checkpoint is not None:
        resume_from = str(paths.resolve(tc.resume_from_checkpoint, loaded.base_dirs))
    if ref is not None and resume_from:
        loop_config["resumeFromCheckpoint"] = resume_from
    elif ref is None and (resume_from or rc.checkpoint.frequency != 1 or tc.model is not None):
        # raydt's own settings for its built-in loops travel under one reserved key
        loop_config[RESERVED_KEY] = {"checkpointFrequency": rc.checkpoint.frequency, "resumeFrom": resume_from}
        if tc.model is not None:  # trainConfig.model, data, loss, metrics: references resolved once, here
            loop_config[RESERVED_KEY]["userModel"] = user_model_settings(spec, info, loaded.base_dirs)
    storage = storage_path(spec)
    name = rc.name or default_name(spec.mode)
    return TrainPlan(
        mode=spec.mode,
        framework=info,
        trainer=ref,
        workers=workers(loaded),
        loop_config=loop_config,
        metric=tc.metric or info.default_metric,
        metric_mode=tc.metric_mode or info.default_mode,
        name=name,
        storage_path=storage,
        num_to_keep=rc.checkpoint.num_to_keep,
        address=address(loaded),
        max_failures=rc.max_failures,
        score_attribute=rc.checkpoint.score_attribute,
        score_order=rc.checkpoint.score_order,
        resume=rc.resume,
        shared_storage=rc.shared_storage,
        tensorboard=rc.tensorboard,
        report=rc.report,
        pending_timeout_s=rc.pending_timeout_s,
        ray_init=dict(spec.config.ray_init),
        autoscaling=spec.config.autoscaling,
        tracking=mlflow(spec, name),
    )


@dataclass(frozen=True)
class ServePlan:
    """The paths a serve run reads, resolved (``raydt.paths``): what to serve, and the user's predictor."""

    checkpoint_path: str | None  # serveConfig.checkpointPath
    experiment_path: str | None  # serveConfig.experimentPath (its best checkpoint is served)
    predictor: str | None  # 'file.py:Class' with the file absolute, or 'module:Class'; None: the built-in one


def serve(loaded: LoadedSpec) -> ServePlan:
    """The resolved paths of ``serveConfig`` (validated; a train or tune run serves its own best checkpoint)."""
    sc = loaded.spec.serve_config
    assert sc is not None

    def local(value: str | None) -> str | None:
        if value and paths.is_model_uri(value):  # models:/NAME@alias: MLflow's, fetched when served
            return value
        return str(paths.resolve(value, loaded.base_dirs)) if value else None

    predictor = paths.resolve_ref(sc.predictor_path, loaded.base_dirs) if sc.predictor_path else None
    return ServePlan(local(sc.checkpoint_path), local(sc.experiment_path), predictor)


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
    def distributed(self) -> bool:
        """Trials run a Ray Train worker group (else the loop runs inside the Tune trial itself)."""
        return self.kind == "train" and self.train.workers.num_workers > 1


def tune(loaded: LoadedSpec) -> TunePlan:
    """The plan of a ``mode: tune`` run (the spec is validated)."""
    from raydt.registry import SCHEDULERS, SEARCHERS, choose

    spec = loaded.spec
    tc = spec.tune_config
    assert tc is not None
    search = space.parse(tc.search_space)
    base = train(loaded)
    info = base.framework
    fixed = base.loop_config
    if base.trainer is None:  # built-in: searched keys are not fixed
        searched = {info.param_aliases.get(k, k) for k in search.members}
        fixed = {k: v for k, v in fixed.items() if k not in searched}
    search_settings = settings(tc, info.default_metric, info.default_mode, loaded.base_dirs)
    objectives = search_settings.objectives
    base = _replace(base, loop_config=fixed, metric=objectives[0].metric, metric_mode=objectives[0].mode)
    types = search.domain_types()
    chosen = choose(
        tc.scheduler,
        tc.search_algorithm,
        objectives=len(objectives),
        warm_start=tc.warm_start is not None,
        domain_types=types,
    )
    sched, algo = chosen.scheduler, chosen.searcher
    if SCHEDULERS[sched].population_based and "num_to_keep" not in spec.run_config.checkpoint.model_fields_set:
        # a lagging trial may clone any checkpoint a leader reported: Ray must not delete them meanwhile
        base = _replace(base, num_to_keep=None)
    options = {SCHEDULERS[sched].options[k].arg: v for k, v in tc.scheduler_config.items()}
    epochs = base.loop_config.get("epochs") if base.trainer is not None else _epochs(info, search, fixed)
    epochs_arg = SCHEDULERS[sched].epochs_arg  # e.g. ASHA's max_t follows the epochs
    if epochs_arg is not None and epochs_arg not in options and isinstance(epochs, int):
        options[epochs_arg] = epochs
    searcher_options = {SEARCHERS[algo].options[k].arg: v for k, v in tc.search_algorithm_config.items()}
    return TunePlan(
        train=base,
        kind=trainer_ref.kind_of(spec.train_config.trainer_path, spec.train_config.trainer_kind, loaded.base_dirs),
        search_space=search,
        num_samples=tc.num_samples or (1 if "grid" in types else DEFAULT_NUM_SAMPLES),
        scheduler=sched,
        scheduler_options=options,
        searcher=algo,
        searcher_options=searcher_options,
        choice_reason=chosen.reason,
        max_concurrent=tc.max_concurrent_trials,
        time_budget_s=tc.time_budget_s,
        stop_at=tc.stop_at,
        seed=tc.seed,
        max_failures_per_trial=tc.max_failures_per_trial,
        reuse_actors=tc.reuse_actors,
        search=search_settings,
    )


def _epochs(info: FrameworkInfo, search: space.Group, fixed: dict[str, Any]) -> int | None:
    """Epochs of a built-in trainer when fixed (a searched epochs count has no single value)."""
    if any(info.param_aliases.get(k, k) == info.epochs_param for k in search.members):
        return None
    value = fixed.get(info.epochs_param)
    return value if isinstance(value, int) else None


def _replace(p: TrainPlan, **changes: Any) -> TrainPlan:
    from dataclasses import replace

    return replace(p, **changes)
