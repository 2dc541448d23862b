"""Resolve a validated spec into the concrete values runners hand to Ray (still no Ray import).

Every path the spec reads is resolved here, once, by ``raydt.paths`` (the plan carries the absolute paths on),
and the search space is parsed into ``raydt.space``'s typed tree, which the runners translate for Ray Tune.
The package owns every setting a run resolves from the spec: the search's (``plan.search``, ``plan.objectives``),
tracking's (``plan.tracking``) and the user model's (``plan.user_model``); the packages that act on them import
them from here, never the other way round.
"""

from __future__ import annotations

from raydt.plan.predict import PredictPlan, predict
from raydt.plan.resolve import address, builtin_config, default_name, serve, storage_path, train, workers
from raydt.plan.tracking import MlflowPlan, mlflow
from raydt.plan.tuning import tune
from raydt.plan.types import DEFAULT_NUM_SAMPLES, DEFAULT_STORAGE, ServePlan, TrainPlan, TunePlan, WorkerPlan

__all__ = [
    "DEFAULT_NUM_SAMPLES",
    "DEFAULT_STORAGE",
    "MlflowPlan",
    "PredictPlan",
    "ServePlan",
    "TrainPlan",
    "TunePlan",
    "WorkerPlan",
    "address",
    "builtin_config",
    "default_name",
    "mlflow",
    "predict",
    "serve",
    "storage_path",
    "train",
    "tune",
    "workers",
]
