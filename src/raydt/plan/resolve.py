"""Spec -> TrainPlan / ServePlan: every path resolved once (``raydt.paths``), explicit per-worker resources."""

from __future__ import annotations

import os
import time
from typing import Any

from raydt import paths, trainer_ref
from raydt.frameworks.common import RESERVED_KEY  # built-in loops' settings in their config; never in bestConfig
from raydt.plan.cost import prices
from raydt.plan.llm import llm_settings, lora_defaults
from raydt.plan.tracking import mlflow
from raydt.plan.types import DEFAULT_STORAGE, ServePlan, TrainPlan, WorkerPlan
from raydt.plan.user_model import user_model_defaults, user_model_settings
from raydt.registry import FRAMEWORKS, FrameworkInfo
from raydt.spec.loader import LoadedSpec
from raydt.spec.model import Spec


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
        defaults.update(lora_defaults(tc.lora))  # framework transformers: trainConfig.lora's keys, tunable
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
        if isinstance(tc.model, str):  # trainConfig.model, data, loss, metrics: references resolved once, here
            loop_config[RESERVED_KEY]["userModel"] = user_model_settings(spec, info, loaded.base_dirs)
        elif tc.model is not None:  # a language model (framework transformers): its sources resolved once, here
            loop_config[RESERVED_KEY]["llm"] = llm_settings(spec, loaded.base_dirs, storage_path(spec))
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
        max_preemptions=rc.max_preemptions,
        score_attribute=rc.checkpoint.score_attribute,
        score_order=rc.checkpoint.score_order,
        resume=rc.resume,
        shared_storage=rc.shared_storage,
        tensorboard=rc.tensorboard,
        report=rc.report,
        pending_timeout_s=rc.pending_timeout_s,
        fast_path=rc.fast_path,
        ray_init=dict(spec.config.ray_init),
        autoscaling=spec.config.autoscaling,
        tracking=mlflow(spec, name),
        prices=prices(spec),
    )


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
