"""What the spec asks of its framework against what the framework declares it can do (``FrameworkInfo``'s
capabilities: GPUs, distributed training, the trial shapes of a search, serving its built-in checkpoints).
Never imports Ray.

The framework a served checkpoint comes from is known here only when the spec names it (``serveConfig.framework``,
or a train/tune run's built-in trainer); otherwise ``raydt.preflight.check_serving`` reads it from the
checkpoint before Ray starts.
"""

from __future__ import annotations

from pathlib import Path

from raydt.errors import SpecIssue
from raydt.registry import FRAMEWORKS, FrameworkInfo
from raydt.spec.model import Spec
from raydt.spec.tune_checks import kind_of, worker_count, worker_field
from raydt.spec.waiting import Waiting

FRAMEWORK = "trainConfig.framework"


def check(spec: Spec, base_dirs: tuple[Path, ...], wait: Waiting) -> list[SpecIssue]:
    """Every request the spec's framework declares it cannot meet."""
    issues: list[SpecIssue] = []
    if spec.mode in ("train", "tune"):
        issues += _training(spec, base_dirs, wait)
    return issues + _serving(spec, wait)


def _training(spec: Spec, base_dirs: tuple[Path, ...], wait: Waiting) -> list[SpecIssue]:
    """GPUs, workers and the trial shape asked of trainConfig.framework (a check whose finding would read a
    broken field waits for it)."""
    info = FRAMEWORKS.get(spec.train_config.framework)
    if info is None:
        return []
    # while the framework is broken, a finding any framework would make waits for it (and says so)
    meant = list(FRAMEWORKS.values()) if wait.is_blocked(FRAMEWORK) else [info]
    use_gpu = spec.train_config.scaling_config.use_gpu
    gpu_path = "trainConfig.scalingConfig.useGpu" if use_gpu is not None else "config.useGpu"
    count_path = worker_field(spec, wait)
    issues: list[SpecIssue] = []
    if (spec.config.use_gpu if use_gpu is None else use_gpu) and not all(i.supports_gpu for i in meant):
        if not wait.waits(gpu_path, FRAMEWORK, gpu_path):
            issues.append(no_gpu(info, gpu_path, True, f"Set {gpu_path}=false"))
    workers = worker_count(spec)
    if workers > 1 and not all(i.distributed for i in meant) and not wait.waits(count_path, FRAMEWORK, count_path):
        rule = f"framework '{info.name}' trains on one worker (it declares no distributed training)"
        issues.append(SpecIssue(count_path, rule, workers, f"Set {count_path} to 1."))
    if spec.mode != "tune":
        return issues
    kind = kind_of(spec, base_dirs)
    shape = "function" if kind == "tune" else ("distributed" if workers > 1 else "in-trial")
    path = "trainConfig.trainerKind" if shape == "function" else count_path
    kind_fields = ("trainConfig.trainerPath", "trainConfig.trainerKind")
    if any(shape not in i.trial_shapes for i in meant) and not wait.waits(path, FRAMEWORK, count_path, *kind_fields):
        rule = f"framework '{info.name}' does not run {shape} trials (it runs: {', '.join(info.trial_shapes)})"
        hint = "in-trial: 1 worker; distributed: numWorkers > 1; function: a Ray Tune function trainable."
        issues.append(SpecIssue(path, rule, kind if shape == "function" else workers, hint))
    return issues + _init_from_best(spec, meant, wait)


def _init_from_best(spec: Spec, meant: list[FrameworkInfo], wait: Waiting) -> list[SpecIssue]:
    """warmStart.initFromBest: the built-in loop must be able to take another trial's weights (a user's trainer
    reads config['initFromCheckpoint'] as it can)."""
    warm = spec.tune_config.warm_start if spec.tune_config is not None else None
    if warm is None or not warm.init_from_best or spec.train_config.trainer_path is not None:
        return []
    if all(i.starts_from_weights for i in meant) or wait.waits(FRAMEWORK, FRAMEWORK):
        return []
    able = ", ".join(sorted(i.name for i in FRAMEWORKS.values() if i.starts_from_weights))
    rule = (
        f"framework '{meant[0].name}' cannot start a trial from another trial's weights (frameworks that can: {able})"
    )
    hint = (
        "Drop --init-from-best (the search is still warm-started), or use a trainerPath that reads initFromCheckpoint."
    )
    return [SpecIssue("tuneConfig.warmStart.initFromBest", rule, True, hint)]


def _serving(spec: Spec, wait: Waiting) -> list[SpecIssue]:
    """A built-in checkpoint is served by its framework's predictor: it must have one, and GPU replicas need a
    framework that uses GPUs (a user predictor, predictorPath, decides for itself)."""
    sc = spec.serve_config
    if sc is None or sc.predictor_path:
        return []
    path, name = "serveConfig.framework", sc.framework
    if name is None and spec.mode in ("train", "tune") and spec.train_config.trainer_path is None:
        path, name = FRAMEWORK, spec.train_config.framework  # the run's built-in trainer makes the checkpoint
    info = FRAMEWORKS.get(name) if name is not None else None
    if info is None:
        return []
    issues: list[SpecIssue] = []
    fields = (path, "serveConfig.predictorPath", "trainConfig.trainerPath")
    if not info.serves_builtin and not wait.waits(path, *fields):
        rule = f"framework '{info.name}' has no built-in predictor to serve its checkpoints"
        issues.append(SpecIssue(path, rule, info.name, "Give serveConfig.predictorPath (your predictor class)."))
    gpu, gpu_path = sc.resources_per_replica.gpu, "serveConfig.resourcesPerReplica.gpu"
    if gpu > 0 and not info.supports_gpu and not wait.waits(gpu_path, *fields):
        hint = "Set serveConfig.resourcesPerReplica.gpu to 0"
        issues.append(no_gpu(info, gpu_path, gpu, hint))
    return issues


def no_gpu(info: FrameworkInfo, path: str, value: object, fix: str) -> SpecIssue:
    """A GPU asked of a framework that declares no GPU support (validation, and preflight for a checkpoint)."""
    return SpecIssue(
        path,
        f"framework '{info.name}' declares no GPU support",
        value,
        f"{fix}: raydt's {info.name} adapter runs on CPU.",
    )
