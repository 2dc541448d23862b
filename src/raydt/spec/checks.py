"""Cross-field rules that pydantic's per-field types cannot express. Never imports Ray."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from raydt import trainer_ref
from raydt.errors import SpecIssue
from raydt.registry import FRAMEWORKS, FrameworkInfo
from raydt.spec.model import ReplicaRange, Spec

SCALING_KEYS: dict[str, str] = {
    "numWorkers": "same as config.numWorkers",
    "useGpu": "same as config.useGpu",
    "resourcesPerWorker": "same as config.resourcesPerWorker",
    "placementStrategy": "PACK | SPREAD | STRICT_PACK | STRICT_SPREAD",
    "acceleratorType": "e.g. 'A100' (needs a cluster that labels it)",
}
PLACEMENT_STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")
_CONFIG_TWINS = ("numWorkers", "useGpu", "resourcesPerWorker")


def closest(name: str, valid: list[str] | tuple[str, ...]) -> str:
    """A 'did you mean' hint listing the valid names."""
    match = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    listed = ", ".join(valid)
    return f"did you mean '{match[0]}'? Valid: {listed}." if match else f"Valid: {listed}."


def check(spec: Spec, raw: dict[str, Any], base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    """Every cross-field problem in ``spec`` (``raw`` is the dict it came from)."""
    issues: list[SpecIssue] = []
    issues += _check_resources(spec, raw)
    if spec.mode in ("train", "tune"):
        issues += _check_train(spec, base_dirs)
    if spec.mode == "tune" and spec.tune_config is None:
        issues.append(SpecIssue("tuneConfig", "is required when mode is 'tune'", None, "Add tuneConfig."))
    elif spec.mode == "tune":
        from raydt.spec import tune_checks

        issues += tune_checks.check(spec, base_dirs)
    if spec.mode == "serve" or spec.serve_config is not None:
        issues += _check_serve(spec, base_dirs)
    if spec.data_config is not None:
        from raydt.spec import data_checks

        issues += data_checks.check(spec, base_dirs)
    return issues


def _check_serve(spec: Spec, base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    sc = spec.serve_config
    if sc is None:
        return [SpecIssue("serveConfig", "is required when mode is 'serve'", None, "Add serveConfig.checkpointPath.")]
    issues: list[SpecIssue] = []
    given = [k for k, v in (("checkpointPath", sc.checkpoint_path), ("experimentPath", sc.experiment_path)) if v]
    if spec.mode == "cluster":
        issues.append(SpecIssue("serveConfig", "does not apply to mode 'cluster'", None, "Drop serveConfig."))
    elif spec.mode != "serve" and given:
        issues.append(
            SpecIssue(
                f"serveConfig.{given[0]}",
                f"must be left out in mode '{spec.mode}': the run's best checkpoint is served",
                getattr(sc, "checkpoint_path" if given[0] == "checkpointPath" else "experiment_path"),
                "Drop it, or serve an existing checkpoint with mode: serve.",
            )
        )
    elif spec.mode == "serve" and len(given) != 1:
        issues.append(
            SpecIssue(
                "serveConfig",
                "needs exactly one of checkpointPath and experimentPath",
                given or None,
                "checkpointPath: a result's checkpointPath; experimentPath: a result's experimentPath.",
            )
        )
    for key, value in (("checkpointPath", sc.checkpoint_path), ("experimentPath", sc.experiment_path)):
        if value and not Path(value).expanduser().is_dir():
            issues.append(SpecIssue(f"serveConfig.{key}", "must be an existing directory", value, ""))
    if isinstance(sc.num_replicas, ReplicaRange) and sc.num_replicas.min > sc.num_replicas.max:
        issues.append(SpecIssue("serveConfig.numReplicas", "min must be <= max", sc.num_replicas.model_dump(), ""))
    if sc.predictor_path:
        ref = trainer_ref.parse(sc.predictor_path, base_dirs)
        if isinstance(ref, SpecIssue):
            issues.append(SpecIssue("serveConfig.predictorPath", ref.rule, sc.predictor_path, ref.hint))
        elif ref.is_file and not Path(ref.target).is_file():
            issues.append(SpecIssue("serveConfig.predictorPath", "file not found", sc.predictor_path, ""))
    return issues


def _check_resources(spec: Spec, raw: dict[str, Any]) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    cfg = spec.config
    gpu = cfg.resources_per_worker.gpu
    if gpu is not None and gpu > 0 and not cfg.use_gpu:
        issues.append(
            SpecIssue(
                "config.resourcesPerWorker.gpu",
                "must be 0 when config.useGpu is false",
                gpu,
                "Set config.useGpu=true to train on GPUs, or drop resourcesPerWorker.gpu.",
            )
        )
    if cfg.use_gpu and gpu == 0:
        issues.append(
            SpecIssue(
                "config.resourcesPerWorker.gpu",
                "must be > 0 when config.useGpu is true",
                gpu,
                "Give each worker a GPU share (e.g. 1 or 0.5), or set config.useGpu=false.",
            )
        )
    cpu = cfg.resources_per_worker.cpu
    if cpu == 0 and not cfg.use_gpu:
        issues.append(
            SpecIssue(
                "config.resourcesPerWorker.cpu",
                "must be > 0 for a CPU-only worker",
                cpu,
                "A worker with no CPU and no GPU reserves nothing; use at least 1 CPU.",
            )
        )
    workers = cfg.num_workers
    if not isinstance(workers, int):
        if workers.min > workers.max:
            issues.append(SpecIssue("config.numWorkers.min", "must be <= max", workers.min, f"max is {workers.max}."))
        if spec.mode != "train":
            issues.append(
                SpecIssue(
                    "config.numWorkers",
                    "a {min, max} range (elastic training) is supported in mode train",
                    {"min": workers.min, "max": workers.max},
                    "Give a fixed number of workers per trial.",
                )
            )
    scaling = spec.train_config.scaling_config
    raw_config = raw.get("config") or {}
    given = scaling.get("numWorkers")
    if "numWorkers" in scaling and (not isinstance(given, int) or isinstance(given, bool) or given < 1):
        issues.append(
            SpecIssue(
                "trainConfig.scalingConfig.numWorkers", "must be an integer >= 1", given, "Or use config.numWorkers."
            )
        )
    for key, value in scaling.items():
        path = f"trainConfig.scalingConfig.{key}"
        if key not in SCALING_KEYS:
            issues.append(SpecIssue(path, "unknown ScalingConfig key", key, closest(key, list(SCALING_KEYS))))
        elif key in _CONFIG_TWINS and key in raw_config and raw_config[key] != value:
            issues.append(
                SpecIssue(
                    path,
                    f"conflicts with config.{key} ({raw_config[key]!r})",
                    value,
                    "Set it in one place (config is the usual one).",
                )
            )
        elif key == "placementStrategy" and value not in PLACEMENT_STRATEGIES:
            issues.append(
                SpecIssue(path, "unknown placement strategy", value, closest(str(value), PLACEMENT_STRATEGIES))
            )
        elif key == "acceleratorType" and not (isinstance(value, str) and value):
            issues.append(SpecIssue(path, "must be a non-empty string", value))
    return issues


def _check_train(spec: Spec, base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    return _check_checkpointing(spec, base_dirs) + _check_trainer(spec, base_dirs)


def _check_checkpointing(spec: Spec, base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    tc = spec.train_config
    if tc.resume_from_checkpoint is not None:
        if spec.mode != "train":
            issues.append(SpecIssue("trainConfig.resumeFromCheckpoint", "is supported in mode train", spec.mode))
        elif not resolve_dir(tc.resume_from_checkpoint, base_dirs).is_dir():
            issues.append(
                SpecIssue(
                    "trainConfig.resumeFromCheckpoint",
                    "is not a checkpoint directory",
                    tc.resume_from_checkpoint,
                    "Pass the checkpointPath of an earlier result.",
                )
            )
    if spec.run_config.checkpoint.frequency != 1 and tc.trainer_path is not None:
        issues.append(
            SpecIssue(
                "runConfig.checkpoint.frequency",
                "applies to the built-in trainers; your loop decides when it passes checkpoint= to ray.train.report",
                spec.run_config.checkpoint.frequency,
            )
        )
    return issues


def resolve_dir(value: str, base_dirs: tuple[Path, ...]) -> Path:
    """A user-given directory, relative to the current directory."""
    path = Path(value).expanduser()
    return (path if path.is_absolute() or not base_dirs else base_dirs[0] / path).resolve()


def _check_trainer(spec: Spec, base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    tc = spec.train_config
    info = FRAMEWORKS.get(tc.framework)
    if info is None:
        return [
            SpecIssue(
                "trainConfig.framework",
                "is not supported by this version of raydt",
                tc.framework,
                f"Supported now: {', '.join(FRAMEWORKS)}.",
            )
        ]
    if tc.trainer_path is not None:
        problem = check_trainer_path(tc.trainer_path, base_dirs)
        return [problem] if problem else []
    return _check_builtin_params(info, tc.train_loop_config, tc.epochs) + builtin_metric(
        info, tc.metric, "trainConfig.metric"
    )


def builtin_metric(info: FrameworkInfo, metric: str | None, path: str) -> list[SpecIssue]:
    """A metric asked of a built-in trainer must be one it reports."""
    if metric is None or metric in info.builtin_metrics:
        return []
    rule = f"is not reported by the built-in {info.name} trainer"
    return [SpecIssue(path, rule, metric, closest(metric, info.builtin_metrics))]


def _check_builtin_params(info: FrameworkInfo, loop_config: dict[str, Any], epochs: int | None) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    valid = list(info.builtin_params) + list(info.param_aliases)
    seen: dict[str, str] = {}
    for key, value in loop_config.items():
        path = f"trainConfig.trainLoopConfig.{key}"
        name = info.param_aliases.get(key, key)
        if name not in info.builtin_params:
            issues.append(
                SpecIssue(
                    path,
                    f"is not a hyperparameter of the built-in {info.name} trainer",
                    key,
                    closest(key, valid),
                )
            )
            continue
        if name in seen:
            issues.append(SpecIssue(path, f"duplicates '{seen[name]}'", key, "Give each hyperparameter once."))
        seen[name] = key
        issues += check_param_value(info, name, value, path)
    ep = info.epochs_param
    if epochs is not None and ep in seen and loop_config[seen[ep]] != epochs:
        issues.append(
            SpecIssue(
                "trainConfig.epochs",
                f"conflicts with trainConfig.trainLoopConfig.{seen[ep]}",
                epochs,
                "Set epochs in one place.",
            )
        )
    return issues


def check_param_value(info: FrameworkInfo, name: str, value: Any, path: str) -> list[SpecIssue]:
    """A built-in hyperparameter's value has its default's type and is positive."""
    default = info.builtin_params[name]
    want_int = isinstance(default, int) and not isinstance(default, bool)
    ok_type = isinstance(value, int) if want_int else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type:
        kind = "an integer" if want_int else "a number"
        return [SpecIssue(path, f"must be {kind}", value, f"Default is {default!r}.")]
    if value <= 0:
        return [SpecIssue(path, "must be > 0", value, f"Default is {default!r}.")]
    top = info.param_max.get(name)
    if top is not None and value > top:
        return [SpecIssue(path, f"must be <= {top:g}", value, f"Default is {default!r}.")]
    return []


def check_trainer_path(value: str, base_dirs: tuple[Path, ...]) -> SpecIssue | None:
    """Parse and statically check a trainerPath."""
    ref = trainer_ref.parse(value, base_dirs)
    if isinstance(ref, SpecIssue):
        return ref
    return trainer_ref.check(ref, value)
