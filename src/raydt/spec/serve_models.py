"""``serveConfig.models``: several models behind one Ray Serve endpoint (``/models/<name>/predict``). Kept apart
from ``spec.model``, which re-exports it; its cross-field rules are ``spec.serve_checks``. Never imports Ray."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from raydt.spec.strict import MAX_RESOURCE, StrictModel

#: a model's (or a variant's) name: a URL path segment and part of a Ray Serve application name
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$"


class ModelResources(StrictModel):
    """What one replica of this model reserves (default: serveConfig.resourcesPerReplica)."""

    cpu: float = Field(1.0, ge=0, le=MAX_RESOURCE, description="CPUs per replica.")
    gpu: float = Field(0.0, ge=0, le=MAX_RESOURCE, description="GPUs per replica.")


class Ensemble(StrictModel):
    """The top-k trials (tune) or checkpoints (train) of one experiment served as one model."""

    experiment_path: str = Field(min_length=1, description="A raydt experiment directory (a result's experimentPath).")
    top_k: int = Field(3, ge=2, le=16, description="How many of its best checkpoints, ranked by the run's metric.")
    combine: Literal["mean", "vote"] = Field(
        "mean",
        description="mean: class probabilities averaged (numeric predictions averaged for a user predictor); "
        "vote: the majority label (ties: the higher mean probability, else the better-ranked member).",
    )


class Variant(StrictModel):
    """One checkpoint of a canary split: answers ``weight`` of the model's requests."""

    name: str | None = Field(
        None, pattern=NAME_PATTERN, description="Named in each answer ('variant'). Default: v1, v2, ... in order."
    )
    checkpoint_path: str | None = Field(None, min_length=1, description="The variant's checkpoint directory.")
    experiment_path: str | None = Field(None, min_length=1, description="A raydt experiment: its best checkpoint.")
    weight: float = Field(gt=0, le=1, description="Its share of the requests; the variants' weights sum to 1.")


class ServedModel(StrictModel):
    """One model of a multi-model endpoint: exactly one of checkpointPath, experimentPath, ensemble, variants."""

    name: str = Field(pattern=NAME_PATTERN, description="Its route: /models/<name>/predict.")
    checkpoint_path: str | None = Field(
        None, min_length=1, description="A checkpoint directory, or an MLflow registered model (models:/NAME@ALIAS)."
    )
    experiment_path: str | None = Field(
        None, min_length=1, description="A raydt experiment directory: its best checkpoint, as mode serve picks it."
    )
    ensemble: Ensemble | None = Field(None, description="{experimentPath, topK, combine}: the top-k as one model.")
    variants: list[Variant] | None = Field(
        None, min_length=2, max_length=8, description="A traffic split for a canary: [{checkpointPath, weight}, ...]."
    )
    predictor_path: str | None = Field(
        None, min_length=1, description="'file.py:Class' or 'module:Class', as serveConfig.predictorPath."
    )
    replicas: int | None = Field(
        None, ge=1, le=10_000, description="Fixed replicas per checkpoint (default: serveConfig.numReplicas)."
    )
    min_replicas: int | None = Field(
        None, ge=0, le=10_000, description="Ray Serve autoscaling: the fewest replicas (with maxReplicas)."
    )
    max_replicas: int | None = Field(
        None, ge=1, le=10_000, description="Ray Serve autoscaling: the most replicas (with minReplicas)."
    )
    target_ongoing_requests: float | None = Field(
        None, gt=0, le=10_000, description="Autoscaling: requests in flight per replica Serve aims for (Ray's 2)."
    )
    resources_per_replica: ModelResources | None = Field(
        None, description="What one replica reserves. Default: serveConfig.resourcesPerReplica."
    )

    def sources(self) -> list[str]:
        """The camelCase names of the sources given (exactly one is valid)."""
        given = {
            "checkpointPath": self.checkpoint_path,
            "experimentPath": self.experiment_path,
            "ensemble": self.ensemble,
            "variants": self.variants,
        }
        return [k for k, v in given.items() if v is not None]
