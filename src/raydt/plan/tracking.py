"""``runConfig.tracking.mlflow`` as the plan carries it (``TrainPlan.tracking``). Pure Python: no MLflow."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from raydt.spec.model import Spec


@dataclass(frozen=True)
class MlflowPlan:
    """``runConfig.tracking.mlflow`` with MLflow's environment variables folded in (``raydt.tracking`` logs it)."""

    tracking_uri: str | None  # None: a local sqlite store beside the experiment
    experiment_name: str
    run_name: str
    tags: dict[str, str]
    register_model: str | None = None
    model_alias: str = "champion"


def mlflow(spec: Spec, name: str) -> MlflowPlan | None:
    """The MLflow settings of a run named ``name`` (None: no tracking): the spec, then MLFLOW_* variables."""
    tracking = spec.run_config.tracking
    m = tracking.mlflow if tracking is not None else None
    if m is None:
        return None
    return MlflowPlan(
        tracking_uri=m.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or None,
        experiment_name=m.experiment_name or os.environ.get("MLFLOW_EXPERIMENT_NAME") or "raydt",
        run_name=m.run_name or name,
        tags=dict(m.tags),
        register_model=m.register_model,
        model_alias=m.model_alias,
    )
