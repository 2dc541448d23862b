"""Cross-field rules that pydantic's per-field types cannot express. Never imports Ray.

Every check runs, each reporting what it finds; a check that reads a field whose value is broken waits for
it (``spec.waiting``) rather than judge a default in its place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from raydt import paths
from raydt.errors import SpecIssue
from raydt.spec import (
    data_checks,
    framework_checks,
    notify_checks,
    predict_checks,
    serve_checks,
    trainer_checks,
    tune_checks,
)
from raydt.spec.model import ClusterConfig, Spec
from raydt.spec.resources import PLACEMENT_STRATEGIES
from raydt.spec.waiting import Waiting
from raydt.suggest import closest

_BY_MODE = "the checks of trainConfig, tuneConfig, serveConfig, dataConfig and predictConfig"


def check(spec: Spec, raw: dict[str, Any], base_dirs: tuple[Path, ...], wait: Waiting | None = None) -> list[SpecIssue]:
    """Every cross-field problem in ``spec`` (``raw`` is the dict it came from; ``wait`` knows the broken fields)."""
    wait = wait if wait is not None else Waiting()
    issues = _check_resources(spec, raw, wait)
    if wait.waits(_BY_MODE, "mode"):
        path = spec.train_config.trainer_path  # checked statically whatever the mode
        problem = trainer_checks.check_trainer_path(path, base_dirs) if path is not None else None
        return issues + ([problem] if problem else [])
    if spec.mode in ("train", "tune"):
        issues += _check_checkpointing(spec, base_dirs, wait)
        issues += trainer_checks.check_trainer(spec, base_dirs, wait)
    if spec.mode == "tune" and spec.tune_config is not None:
        issues += tune_checks.check(spec, base_dirs, wait)
    elif spec.mode == "tune" and not wait.waits("tuneConfig", "tuneConfig"):
        issues.append(SpecIssue("tuneConfig", "is required when mode is 'tune'", None, "Add tuneConfig."))
    issues += predict_checks.check(spec, raw, base_dirs, wait)  # mode predict refuses the sections it ignores
    if spec.mode != "predict" and (spec.mode == "serve" or spec.serve_config is not None):
        issues += serve_checks.check(spec, base_dirs, wait)
    issues += framework_checks.check(spec, base_dirs, wait)  # what the framework declares it can do
    issues += notify_checks.check(spec, wait)
    if spec.data_config is not None and spec.mode != "predict":
        issues += data_checks.check(spec, base_dirs, wait)
    else:
        wait.waits("dataConfig", "dataConfig")  # dropped for a problem inside it: the rest of it waits
    return issues


def _check_resources(spec: Spec, raw: dict[str, Any], wait: Waiting) -> list[SpecIssue]:
    issues = _check_devices(spec.config, wait)
    workers = spec.config.num_workers
    if not isinstance(workers, int):
        if workers.min > workers.max:
            issues.append(SpecIssue("config.numWorkers.min", "must be <= max", workers.min, f"max is {workers.max}."))
        if not wait.waits("config.numWorkers", "mode") and spec.mode != "train":
            issues.append(
                SpecIssue(
                    "config.numWorkers",
                    "a {min, max} range (elastic training) is supported in mode train",
                    {"min": workers.min, "max": workers.max},
                    "Give a fixed number of workers per trial.",
                )
            )
    return issues + _check_scaling(spec, raw.get("config") or {}, wait) + _check_cost(spec, wait)


def _check_cost(spec: Spec, wait: Waiting) -> list[SpecIssue]:
    """``config.costPerHour`` as an object: a node price, or CPU and/or GPU prices; not both, not none."""
    prices = spec.config.cost_per_hour
    if prices is None or isinstance(prices, float | int) or wait.waits("config.costPerHour", "config.costPerHour"):
        return []
    given = {k: v for k, v in (("node", prices.node), ("cpu", prices.cpu), ("gpu", prices.gpu)) if v is not None}
    if not given:
        rule, hint = "must give a price: node, or cpu and/or gpu", 'e.g. {"node": 3.2} or {"cpu": 0.05, "gpu": 2.5}.'
    elif "node" in given and len(given) > 1:
        rule, hint = "prices per node and per CPU/GPU cannot be combined", "Keep node, or cpu and gpu."
    else:
        return []
    return [SpecIssue("config.costPerHour", rule, given, hint)]


def _check_devices(cfg: ClusterConfig, wait: Waiting) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    gpu, cpu = cfg.resources_per_worker.gpu, cfg.resources_per_worker.cpu
    gpu_path, cpu_path = "config.resourcesPerWorker.gpu", "config.resourcesPerWorker.cpu"
    if gpu is not None and not wait.waits(gpu_path, "config.useGpu"):
        if gpu > 0 and not cfg.use_gpu:
            issues.append(
                SpecIssue(
                    gpu_path,
                    "must be 0 when config.useGpu is false",
                    gpu,
                    "Set config.useGpu=true to train on GPUs, or drop resourcesPerWorker.gpu.",
                )
            )
        if cfg.use_gpu and gpu == 0:
            issues.append(
                SpecIssue(
                    gpu_path,
                    "must be > 0 when config.useGpu is true",
                    gpu,
                    "Give each worker a GPU share (e.g. 1 or 0.5), or set config.useGpu=false.",
                )
            )
    if cpu == 0 and not wait.waits(cpu_path, "config.useGpu") and not cfg.use_gpu:
        issues.append(
            SpecIssue(
                cpu_path,
                "must be > 0 for a CPU-only worker",
                cpu,
                "A worker with no CPU and no GPU reserves nothing; use at least 1 CPU.",
            )
        )
    return issues


def _check_scaling(spec: Spec, raw_config: dict[str, Any], wait: Waiting) -> list[SpecIssue]:
    """trainConfig.scalingConfig (typed: pydantic refused wrong types and unknown keys): a value given here and
    in config must agree; the placement strategy must be Ray's."""
    sc, cfg = spec.train_config.scaling_config, spec.config
    issues: list[SpecIssue] = []
    twins = (
        ("numWorkers", sc.num_workers, cfg.num_workers),
        ("useGpu", sc.use_gpu, cfg.use_gpu),
        ("resourcesPerWorker", sc.resources_per_worker, cfg.resources_per_worker),
    )
    for key, given, configured in twins:
        path = f"trainConfig.scalingConfig.{key}"
        if given is None or wait.waits(path, f"config.{key}"):
            continue  # not given; or config's value is broken: whether they agree is decided once it is fixed
        if key in raw_config and given != configured:
            issues.append(
                SpecIssue(
                    path,
                    f"conflicts with config.{key} ({raw_config[key]!r})",
                    _plain(given),
                    "Set it in one place (config is the usual one).",
                )
            )
    strategy = sc.placement_strategy
    if strategy is not None and strategy not in PLACEMENT_STRATEGIES:
        path = "trainConfig.scalingConfig.placementStrategy"
        issues.append(SpecIssue(path, "unknown placement strategy", strategy, closest(strategy, PLACEMENT_STRATEGIES)))
    return issues


def _plain(value: Any) -> Any:
    """A typed value as the spec gave it (a section as its camelCase object)."""
    return value.model_dump(by_alias=True, exclude_unset=True) if hasattr(value, "model_dump") else value


def _check_checkpointing(spec: Spec, base_dirs: tuple[Path, ...], wait: Waiting) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    tc = spec.train_config
    if tc.resume_from_checkpoint is not None:
        if spec.mode != "train":
            issues.append(SpecIssue("trainConfig.resumeFromCheckpoint", "is supported in mode train", spec.mode))
        elif not paths.resolve(tc.resume_from_checkpoint, base_dirs).is_dir():
            issues.append(
                SpecIssue(
                    "trainConfig.resumeFromCheckpoint",
                    "is not a checkpoint directory",
                    tc.resume_from_checkpoint,
                    "Pass the checkpointPath of an earlier result.",
                )
            )
    frequency, path = spec.run_config.checkpoint.frequency, "runConfig.checkpoint.frequency"
    if frequency != 1 and not wait.waits(path, "trainConfig.trainerPath") and tc.trainer_path is not None:
        issues.append(
            SpecIssue(
                path,
                "applies to the built-in trainers; your loop decides when it passes checkpoint= to ray.train.report",
                frequency,
            )
        )
    return issues
