"""``serveConfig.models`` resolved: each model's sources (paths resolved as validation resolved them), replicas
and resources, with serveConfig's values as the defaults. Never imports Ray."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from raydt import paths
from raydt.spec.loader import LoadedSpec
from raydt.spec.model import ReplicaRange, ServeConfig, ServedModel

Kind = Literal["single", "variants", "ensemble"]


@dataclass(frozen=True)
class SourcePlan:
    """One checkpoint to serve: given, or an experiment's best (``weight``: a canary variant's share)."""

    name: str
    checkpoint_path: str | None
    experiment_path: str | None
    weight: float = 1.0


@dataclass(frozen=True)
class ModelPlan:
    """One model of a multi-model endpoint."""

    name: str
    kind: Kind
    sources: tuple[SourcePlan, ...]  # single: 1; variants: one per variant; ensemble: its experiment
    predictor: str | None  # 'file.py:Class' with the file absolute, or 'module:Class'; None: the built-in one
    framework: str | None
    replicas: int | dict[str, float]  # fixed, or {min, max, targetOngoingRequests, upscaleDelayS, downscaleDelayS}
    cpu: float
    gpu: float
    top_k: int = 0  # ensemble only
    combine: str = "mean"  # ensemble only


def models(loaded: LoadedSpec) -> list[ModelPlan]:
    """Every model of ``serveConfig.models`` (validated), in the spec's order."""
    sc = loaded.spec.serve_config
    assert sc is not None and sc.models is not None

    def local(value: str | None) -> str | None:
        if value and paths.is_model_uri(value):  # models:/NAME@alias: MLflow's, fetched when served
            return value
        return str(paths.resolve(value, loaded.base_dirs)) if value else None

    plans = []
    for model in sc.models:
        ref = model.predictor_path or sc.predictor_path
        predictor = paths.resolve_ref(ref, loaded.base_dirs) if ref else None
        kind: Kind = "variants" if model.variants else "ensemble" if model.ensemble else "single"
        if model.variants:
            sources = tuple(
                SourcePlan(v.name or f"v{j + 1}", local(v.checkpoint_path), local(v.experiment_path), v.weight)
                for j, v in enumerate(model.variants)
            )
        elif model.ensemble:
            sources = (SourcePlan(model.name, None, local(model.ensemble.experiment_path)),)
        else:
            sources = (SourcePlan(model.name, local(model.checkpoint_path), local(model.experiment_path)),)
        resources = model.resources_per_replica or sc.resources_per_replica
        plans.append(
            ModelPlan(
                name=model.name,
                kind=kind,
                sources=sources,
                predictor=predictor,
                framework=sc.framework,
                replicas=replicas(model, sc),
                cpu=resources.cpu,
                gpu=resources.gpu,
                top_k=model.ensemble.top_k if model.ensemble else 0,
                combine=model.ensemble.combine if model.ensemble else "mean",
            )
        )
    return plans


def replicas(model: ServedModel, sc: ServeConfig) -> int | dict[str, float]:
    """The model's replicas: its own (fixed or autoscaled), else serveConfig.numReplicas."""
    if model.min_replicas is not None and model.max_replicas is not None:
        fields = ReplicaRange.model_fields  # Serve's defaults, unless serveConfig.numReplicas is a range
        default = sc.num_replicas if isinstance(sc.num_replicas, ReplicaRange) else None
        return {
            "min": model.min_replicas,
            "max": model.max_replicas,
            "targetOngoingRequests": model.target_ongoing_requests
            or (default.target_ongoing_requests if default else fields["target_ongoing_requests"].default),
            "upscaleDelayS": default.upscale_delay_s if default else fields["upscale_delay_s"].default,
            "downscaleDelayS": default.downscale_delay_s if default else fields["downscale_delay_s"].default,
        }
    if model.replicas is not None:
        return model.replicas
    if isinstance(sc.num_replicas, ReplicaRange):
        return {k: float(v) for k, v in sc.num_replicas.model_dump(by_alias=True).items()}
    return sc.num_replicas
