"""Spec -> PredictPlan (mode predict): every path resolved once (``raydt.paths``), the actors' resources explicit."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from raydt import paths
from raydt.plan.resolve import address, default_name, storage_path, workers
from raydt.spec.loader import LoadedSpec


@dataclass(frozen=True)
class PredictPlan:
    """Everything a predict run needs: the model, the rows, the output, the actor pool, the run's own folder."""

    checkpoint_path: str | None  # absolute, or models:/NAME@ALIAS (MLflow's, fetched by the run)
    experiment_path: str | None  # absolute: its best checkpoint predicts, chosen as serve chooses it
    predictor: str | None  # 'file.py:Class' with the file absolute, or 'module:Class'; None: the built-in one
    data_paths: list[str]  # predictConfig.data.paths: local ones absolute (globs not expanded), URIs as given
    data_format: str  # csv | parquet | json | numpy | images (a Ray Data reader)
    features: list[str] | None  # the input columns (None: every column)
    keep_columns: list[str]  # input columns copied next to each prediction, in order
    output_path: str  # absolute, or a URI
    output_format: str  # parquet | csv | json
    batch_size: int
    concurrency: int  # actors of the pool (predictConfig.concurrency, else config.numWorkers)
    on_bad_rows: str  # fail | skip
    probabilities: bool
    overwrite: bool
    actor_resources: dict[str, float]  # per actor, as plan.workers: {"CPU": c} (+ "GPU" with useGpu, "memory", custom)
    use_gpu: bool
    name: str  # runConfig.name, else raydt-predict-<timestamp>-<hex>
    storage_path: str  # runConfig.storagePath resolved (default ~/raydt_results)
    address: str | None
    ray_init: dict[str, Any] = field(default_factory=dict)
    generation: dict[str, Any] = field(default_factory=dict)  # a language model's decoding settings

    @property
    def run_path(self) -> str:
        """The run's own folder (``<storage_path>/<name>``): its stored spec and log live there, never the output."""
        return os.path.join(self.storage_path, self.name)


def predict(loaded: LoadedSpec) -> PredictPlan:
    """The plan of a ``mode: predict`` run (a validated spec: predictConfig is there)."""
    spec = loaded.spec
    pc = spec.predict_config
    assert pc is not None  # validated: mode predict needs predictConfig

    def local(value: str | None) -> str | None:
        if value and paths.is_model_uri(value):  # models:/NAME@alias: MLflow's, fetched by the run
            return value
        return str(paths.resolve(value, loaded.base_dirs)) if value else None

    pool = workers(loaded)
    return PredictPlan(
        checkpoint_path=local(pc.checkpoint_path),
        experiment_path=local(pc.experiment_path),
        predictor=paths.resolve_ref(pc.predictor_path, loaded.base_dirs) if pc.predictor_path else None,
        data_paths=paths.data_paths(pc.data.paths, loaded.base_dirs),
        data_format=pc.data.format,
        features=list(pc.data.features) if pc.data.features is not None else None,
        keep_columns=list(pc.keep_columns),
        output_path=paths.output_dir(pc.output.path),
        output_format=pc.output.format,
        batch_size=pc.batch_size,
        concurrency=pc.concurrency or pool.num_workers,
        on_bad_rows=pc.on_bad_rows,
        probabilities=pc.probabilities,
        overwrite=pc.overwrite,
        generation={
            "max_new_tokens": pc.generation.max_new_tokens,
            "temperature": pc.generation.temperature,
            "top_p": pc.generation.top_p,
            "stop": list(pc.generation.stop),
        },
        actor_resources=dict(pool.resources),
        use_gpu=pool.use_gpu,
        name=spec.run_config.name or default_name(spec.mode),
        storage_path=storage_path(spec),
        address=address(loaded),
        ray_init=dict(spec.config.ray_init),
    )
