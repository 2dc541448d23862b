"""``serveConfig``'s cross-field rules: one model (checkpointPath | experimentPath) or several (``models``).
Never imports Ray."""

from __future__ import annotations

from pathlib import Path

from raydt import paths, trainer_ref
from raydt.errors import SpecIssue
from raydt.spec.model import ReplicaRange, ServeConfig, Spec
from raydt.spec.serve_models import ServedModel
from raydt.spec.waiting import Waiting

#: how far the variants' weights may be from summing to 1
WEIGHT_SLACK = 1e-6


def check(spec: Spec, base_dirs: tuple[Path, ...], wait: Waiting) -> list[SpecIssue]:
    sc = spec.serve_config
    if sc is None:
        if wait.waits("serveConfig", "serveConfig"):
            return []
        return [SpecIssue("serveConfig", "is required when mode is 'serve'", None, "Add serveConfig.checkpointPath.")]
    issues: list[SpecIssue] = []
    if spec.mode == "cluster":
        issues.append(SpecIssue("serveConfig", "does not apply to mode 'cluster'", None, "Drop serveConfig."))
    issues += _sources(spec, sc, wait)
    issues += _directories(
        "serveConfig", (("checkpointPath", sc.checkpoint_path), ("experimentPath", sc.experiment_path)), base_dirs
    )
    if isinstance(sc.num_replicas, ReplicaRange) and sc.num_replicas.min > sc.num_replicas.max:
        issues.append(SpecIssue("serveConfig.numReplicas", "min must be <= max", sc.num_replicas.model_dump(), ""))
    issues += _predictor("serveConfig.predictorPath", sc.predictor_path, base_dirs)
    names: set[str] = set()
    for i, model in enumerate(sc.models or []):
        at = f"serveConfig.models.{i}"
        if model.name in names:
            issues.append(SpecIssue(f"{at}.name", "must be unique among serveConfig.models", model.name, ""))
        names.add(model.name)
        issues += _model(at, model, base_dirs)
    return issues


def _sources(spec: Spec, sc: ServeConfig, wait: Waiting) -> list[SpecIssue]:
    """mode serve: one model (checkpointPath | experimentPath) or ``models``; train and tune serve their own best."""
    sources = (("checkpointPath", sc.checkpoint_path), ("experimentPath", sc.experiment_path))
    given = [k for k, v in sources if v] + (["models"] if sc.models is not None else [])
    if spec.mode in ("train", "tune") and given:
        return [
            SpecIssue(
                f"serveConfig.{given[0]}",
                f"must be left out in mode '{spec.mode}': the run's best checkpoint is served",
                dict(sources).get(given[0]) or "[...]",
                "Drop it, or serve an existing checkpoint with mode: serve.",
            )
        ]
    if spec.mode != "serve" or wait.waits("serveConfig", *(f"serveConfig.{k}" for k in (*dict(sources), "models"))):
        return []
    if len(given) != 1:
        return [
            SpecIssue(
                "serveConfig",
                "needs exactly one of checkpointPath, experimentPath and models",
                given or None,
                "checkpointPath: a result's checkpointPath; experimentPath: a result's experimentPath; models: "
                "[{name, checkpointPath}, ...] for several models behind one endpoint.",
            )
        ]
    return []


def _model(at: str, model: ServedModel, base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    given = model.sources()
    if len(given) != 1:
        issues.append(
            SpecIssue(
                at,
                "needs exactly one of checkpointPath, experimentPath, ensemble and variants",
                given or None,
                "A checkpoint, an experiment's best, {ensemble: {experimentPath, topK}} or [{checkpointPath, weight}].",
            )
        )
    issues += _directories(
        at, (("checkpointPath", model.checkpoint_path), ("experimentPath", model.experiment_path)), base_dirs
    )
    if model.ensemble is not None:
        issues += _directories(f"{at}.ensemble", (("experimentPath", model.ensemble.experiment_path),), base_dirs)
    issues += _variants(at, model, base_dirs)
    issues += _replicas(at, model)
    issues += _predictor(f"{at}.predictorPath", model.predictor_path, base_dirs)
    return issues


def _variants(at: str, model: ServedModel, base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    if not model.variants:
        return []
    issues: list[SpecIssue] = []
    names: set[str] = set()
    for j, variant in enumerate(model.variants):
        where = f"{at}.variants.{j}"
        sources = (("checkpointPath", variant.checkpoint_path), ("experimentPath", variant.experiment_path))
        if sum(1 for _, v in sources if v) != 1:
            issues.append(SpecIssue(where, "needs exactly one of checkpointPath and experimentPath", None, ""))
        issues += _directories(where, sources, base_dirs)
        name = variant.name or f"v{j + 1}"
        if name in names:
            issues.append(SpecIssue(f"{where}.name", "must be unique among the model's variants", name, ""))
        names.add(name)
    total = sum(v.weight for v in model.variants)
    if abs(total - 1.0) > WEIGHT_SLACK:
        weights = [v.weight for v in model.variants]
        issues.append(
            SpecIssue(
                f"{at}.variants", "the weights must sum to 1", weights, f"They sum to {total:g}: e.g. 0.9 and 0.1."
            )
        )
    return issues


def _replicas(at: str, model: ServedModel) -> list[SpecIssue]:
    lo, hi = model.min_replicas, model.max_replicas
    if (lo is None) != (hi is None):
        given = "minReplicas" if lo is not None else "maxReplicas"
        return [
            SpecIssue(
                f"{at}.{given}", "autoscaling needs both minReplicas and maxReplicas", lo if lo is not None else hi, ""
            )
        ]
    if lo is not None and hi is not None:
        if model.replicas is not None:
            hint = "replicas: a fixed count; minReplicas and maxReplicas: Serve autoscales between them."
            return [
                SpecIssue(f"{at}.replicas", "cannot be given with minReplicas and maxReplicas", model.replicas, hint)
            ]
        if lo > hi:
            return [SpecIssue(f"{at}.minReplicas", "must be <= maxReplicas", lo, f"maxReplicas is {hi}.")]
    elif model.target_ongoing_requests is not None:
        hint = "Give minReplicas and maxReplicas too (Serve autoscales between them)."
        return [
            SpecIssue(
                f"{at}.targetOngoingRequests",
                "applies only to an autoscaling model",
                model.target_ongoing_requests,
                hint,
            )
        ]
    return []


def _directories(at: str, sources: tuple[tuple[str, str | None], ...], base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    issues = []
    for key, value in sources:
        if key == "checkpointPath" and value and paths.is_model_uri(value):
            continue  # an MLflow registered model (models:/NAME@alias), fetched when served
        if value and not paths.resolve(value, base_dirs).is_dir():
            issues.append(SpecIssue(f"{at}.{key}", "must be an existing directory", value, ""))
    return issues


def _predictor(at: str, value: str | None, base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    if not value:
        return []
    ref = trainer_ref.parse(value, base_dirs)
    if isinstance(ref, SpecIssue):
        return [SpecIssue(at, ref.rule, value, ref.hint)]
    if ref.is_file and not Path(ref.target).is_file():
        return [SpecIssue(at, "file not found", value, "")]
    return []
