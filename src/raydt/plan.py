"""Resolve a validated spec into the concrete values runners hand to Ray (still no Ray import)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raydt import trainer_ref
from raydt.registry import FRAMEWORKS, FrameworkInfo
from raydt.spec.loader import LoadedSpec

DEFAULT_STORAGE = "~/raydt_results"


@dataclass(frozen=True)
class WorkerPlan:
    """The scaling of one training run: explicit resources for every worker."""

    num_workers: int
    use_gpu: bool
    resources: dict[str, float]  # Ray resource names: {"CPU": 1.0, "GPU": 1.0}
    placement_strategy: str = "PACK"
    accelerator_type: str | None = None

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
    ray_init: dict[str, Any] = field(default_factory=dict)

    @property
    def experiment_path(self) -> str:
        return os.path.join(self.storage_path, self.name)


def workers(loaded: LoadedSpec) -> WorkerPlan:
    """Resolve ``config`` (and ``trainConfig.scalingConfig``) into explicit per-worker resources."""
    spec = loaded.spec
    scaling = spec.train_config.scaling_config
    cfg = spec.config
    num_workers = int(scaling.get("numWorkers", cfg.num_workers))
    use_gpu = bool(scaling.get("useGpu", cfg.use_gpu))
    res_raw = scaling.get("resourcesPerWorker") or {}
    cpu = res_raw.get("cpu", cfg.resources_per_worker.cpu)
    gpu = res_raw.get("gpu", cfg.resources_per_worker.gpu)
    resources = {"CPU": float(1 if cpu is None else cpu)}
    if use_gpu:
        resources["GPU"] = float(1 if gpu is None else gpu)
    return WorkerPlan(
        num_workers=num_workers,
        use_gpu=use_gpu,
        resources=resources,
        placement_strategy=str(scaling.get("placementStrategy", "PACK")),
        accelerator_type=scaling.get("acceleratorType"),
    )


def address(loaded: LoadedSpec) -> str | None:
    """``config.address``, else ``RAY_ADDRESS``, else None (embedded local Ray)."""
    return loaded.spec.config.address or os.environ.get("RAY_ADDRESS") or None


def builtin_config(info: FrameworkInfo, given: dict[str, Any], epochs: int | None) -> dict[str, Any]:
    """The built-in trainer's effective hyperparameters: defaults, then the spec (aliases folded in)."""
    config = dict(info.builtin_params)
    for key, value in given.items():
        config[info.param_aliases.get(key, key)] = value
    if epochs is not None:
        config["epochs"] = epochs
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
    else:
        loop_config = builtin_config(info, tc.train_loop_config, tc.epochs)
    rc = spec.run_config
    storage = str(Path(os.path.expanduser(rc.storage_path or DEFAULT_STORAGE)).resolve())
    return TrainPlan(
        mode=spec.mode,
        framework=info,
        trainer=ref,
        workers=workers(loaded),
        loop_config=loop_config,
        metric=tc.metric or info.default_metric,
        metric_mode=tc.metric_mode or info.default_mode,
        name=rc.name or f"raydt-{spec.mode}-{time.strftime('%Y%m%d-%H%M%S')}",
        storage_path=storage,
        num_to_keep=rc.checkpoint.num_to_keep,
        address=address(loaded),
        ray_init=dict(spec.config.ray_init),
    )
