"""The input model: the seed's schema plus raydt's camelCase extensions (pydantic v2, strict types).

Field names are snake_case in Python and camelCase in the spec (aliases only: a spec must use
camelCase). Unknown keys are rejected; cross-field rules live in ``spec.checks``. The base class is in
``spec.strict``, ``config`` and ``trainConfig.scalingConfig`` in ``spec.resources``; everything is imported
from here. ``tuneConfig.searchSpace`` stays JSON in the model (its schema comes from ``raydt.space``): its
problems are reported domain by domain (``spec.space_checks``) and it is parsed into typed nodes once valid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from raydt.registry import DEFAULT_SCHEDULER, DEFAULT_SEARCHER, FRAMEWORK_NAMES, SCHEDULERS, SEARCHERS, SEED_FRAMEWORKS
from raydt.spec.k8s import K8sConfig as K8sConfig  # re-exported: the model is read from here
from raydt.spec.resources import ClusterConfig as ClusterConfig
from raydt.spec.resources import Resources as Resources
from raydt.spec.resources import ScalingConfig as ScalingConfig
from raydt.spec.resources import WorkerRange as WorkerRange
from raydt.spec.strict import MAX_RESOURCE, StrictModel

Mode = Literal["train", "tune", "cluster", "serve"]
MetricMode = Literal["min", "max"]
if TYPE_CHECKING:
    Framework = str
else:  # the seed's frameworks, then the registry's others: the enum `raydt schema input` publishes
    Framework = Literal[FRAMEWORK_NAMES]
_EXTENSIONS = [name for name in FRAMEWORK_NAMES if name not in SEED_FRAMEWORKS]
FRAMEWORK_HELP = (
    f"The framework: {' | '.join(SEED_FRAMEWORKS)} (the seed's), and raydt's extensions: {' | '.join(_EXTENSIONS)}. "
    "Picks the Ray trainer, the built-in trainer and its defaults (metric, hyperparameters)."
)


def _choices(table: dict[str, Any], default: str) -> str:
    """``name: description`` of every registry entry, the default marked (the registry is the one source)."""
    return "; ".join(f"{n}{' (default)' if n == default else ''}: {i.description}" for n, i in table.items())


SCHEDULER_HELP = "Ray Tune trial scheduler. " + _choices(SCHEDULERS, DEFAULT_SCHEDULER)
SEARCHER_HELP = "Ray Tune search algorithm (default: one that fits the space, see searchChoice). " + _choices(
    SEARCHERS, DEFAULT_SEARCHER
)


class TrainConfig(StrictModel):
    """``trainConfig``: what to train and how results are judged."""

    trainer_path: str | None = Field(
        None,
        min_length=1,
        description="'path/to/file.py:function' or 'package.module:function': a Ray Train per-worker "
        "loop fn(config). Default: the framework's built-in trainer.",
    )
    framework: Framework = Field("pytorch", description=FRAMEWORK_HELP)
    trainer_kind: Literal["auto", "train", "tune"] = Field(
        "auto",
        description="'train': a Ray Train per-worker loop; 'tune': a Ray Tune function trainable; "
        "'auto': decided from the code (ray.tune.report/get_checkpoint or Tune callbacks mean 'tune').",
    )
    scaling_config: ScalingConfig = Field(
        default_factory=ScalingConfig,
        description="Ray ScalingConfig options in camelCase (placementStrategy, acceleratorType); "
        "numWorkers/useGpu/resourcesPerWorker may be given here instead of in config.",
    )
    train_loop_config: dict[str, Any] = Field(
        default_factory=dict, description="Fixed hyperparameters passed to the loop as its config dict."
    )
    epochs: int | None = Field(None, ge=1, le=1_000_000, description="Shortcut for trainLoopConfig.epochs.")
    metric: str | None = Field(
        None, min_length=1, description="Metric that picks the best checkpoint (default: the framework's)."
    )
    resume_from_checkpoint: str | None = Field(
        None,
        min_length=1,
        description="mode train: start from this checkpoint directory (built-in trainers load it; a user loop "
        "finds its path in config['resumeFromCheckpoint']).",
    )
    metric_mode: MetricMode | None = Field(None, description="'min' or 'max' (default: the framework's).")


class TuneConfig(StrictModel):
    """``tuneConfig``: the hyperparameter search (mode: tune)."""

    search_space: dict[str, Any] = Field(
        default_factory=dict,
        description="Hyperparameters: domains ({type: ...}), constants, nested groups (raydt/space.py).",
    )
    scheduler: str | None = Field(None, description=SCHEDULER_HELP)
    num_samples: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Samples to draw (default 10; 1 when the space has grid values). Ray repeats the whole "
        "grid for every sample: trials = numSamples x grid points.",
    )
    metric: str | None = Field(None, min_length=1, description="Metric to optimise (default: the framework's).")
    mode: MetricMode | None = Field(None, description="'min' or 'max' (default: the framework's).")
    scheduler_config: dict[str, Any] = Field(default_factory=dict, description="Scheduler options, camelCase.")
    search_algorithm: str | None = Field(None, description=SEARCHER_HELP)
    search_algorithm_config: dict[str, Any] = Field(default_factory=dict, description="Searcher options.")
    max_concurrent_trials: int | None = Field(
        None, ge=1, le=100_000, description="Default: as many trials as the cluster can run at once."
    )
    time_budget_s: float | None = Field(None, gt=0, le=1e9, description="Stop the search after this many seconds.")
    stop_at: float | None = Field(None, description="Stop the whole search once the metric reaches this value.")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Seed of the search algorithm's sampling.")
    max_failures_per_trial: int = Field(
        2, ge=0, le=1000, description="Ray Tune: restarts of a failed trial (from its last checkpoint)."
    )
    reuse_actors: bool | None = Field(
        None,
        description="Run successive trials in the same Ray actor (Ray Tune's reuse_actors): far cheaper small "
        "trials. Each trial still gets a fresh copy of the trainer's module state, environment and RNG seeds. "
        "Default: on for trials that run in their own process (1 worker), off for distributed trials.",
    )


class CheckpointSpec(StrictModel):
    """``runConfig.checkpoint``: which checkpoints Ray keeps."""

    num_to_keep: int | None = Field(
        2,
        ge=1,
        le=10_000,
        description="Best checkpoints kept, ranked by scoreAttribute; null keeps all. Leave it out with pbt/pb2 "
        "(they keep every checkpoint).",
    )
    score_attribute: str | None = Field(
        None, min_length=1, description="Metric that ranks checkpoints (default: the run's metric)."
    )
    score_order: MetricMode | None = Field(None, description="'min' or 'max' (default: the run's mode).")
    frequency: int = Field(
        1, ge=1, le=1_000_000, description="Built-in trainers: checkpoint every N epochs (and at the last one)."
    )


class MlflowSpec(StrictModel):
    """``runConfig.tracking.mlflow``: log to MLflow (train: one run; tune: a parent run, a nested run per trial)."""

    tracking_uri: str | None = Field(
        None,
        min_length=1,
        description="MLflow tracking URI (http(s)://host:port, sqlite:///file.db, databricks, ...). Default: "
        "MLFLOW_TRACKING_URI, else a local store beside the experiment (sqlite:///<experimentPath>/mlflow.db).",
    )
    experiment_name: str | None = Field(
        None, min_length=1, description="MLflow experiment (default: MLFLOW_EXPERIMENT_NAME, else 'raydt')."
    )
    run_name: str | None = Field(
        None, min_length=1, description="Name of the run (tune: of the parent run). Default: runConfig.name."
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags set on the run (tune: on every run).")
    register_model: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$",
        description="Register the best checkpoint as a new version of this registered model, with the alias "
        "modelAlias (serve it with serveConfig.checkpointPath: models:/NAME@ALIAS).",
    )
    model_alias: str = Field(
        "champion",
        pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,254}$",
        description="The alias the registered version gets (MLflow aliases, not the deprecated stages).",
    )


class TrackingSpec(StrictModel):
    """``runConfig.tracking``: experiment trackers the run logs to."""

    mlflow: MlflowSpec | None = Field(None, description="MLflow tracking ({} for every default).")


class RunConfig(StrictModel):
    """``runConfig``: naming and storage of the run (Ray's RunConfig)."""

    name: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
        description="Experiment name (default: raydt-<mode>-<timestamp>).",
    )
    storage_path: str | None = Field(
        None, min_length=1, description="Where experiments are stored (default: ~/raydt_results)."
    )
    checkpoint: CheckpointSpec = Field(default_factory=lambda: CheckpointSpec())
    max_failures: int = Field(
        2, ge=0, le=1000, description="Ray Train: worker-group restarts from the last checkpoint before failing."
    )
    shared_storage: bool = Field(
        False,
        description="storagePath is a filesystem every node mounts (NFS...): allows a local path on a "
        "multi-node cluster. URIs (s3://, gs://, ...) are always shared.",
    )
    pending_timeout_s: float = Field(
        600, gt=0, le=1e7, description="Fail a run whose training workers stay unschedulable this long."
    )
    resume: Literal["auto", "never"] = Field(
        "auto",
        description="'auto': an experiment of the same name under storagePath is resumed (finished trials are "
        "not run again); 'never': such an experiment is an error.",
    )
    tensorboard: bool = Field(
        False,
        description="Also write TensorBoard event files per trial (Ray Tune's TBXLoggerCallback). Off by "
        "default: importing tensorboardX alone costs seconds; CSV and JSON results are always written.",
    )
    report: bool = Field(
        False,
        description="Write the experiment report when the run ends (also a failed or interrupted one): one "
        "self-contained HTML file and a PNG per figure in <experimentPath>/report/ (result.reportPath); the same "
        "as `raydt report EXPERIMENT_DIR`. A report that cannot be written is a warning, never a failed run.",
    )
    tracking: TrackingSpec | None = Field(
        None, description="Experiment tracking: {mlflow: {trackingUri, experimentName, runName, tags, registerModel}}."
    )


class ReplicaRange(StrictModel):
    """Ray Serve autoscaling: replicas between min and max, following the request load."""

    min: int = Field(ge=0, le=10_000)
    max: int = Field(ge=1, le=10_000)
    target_ongoing_requests: float = Field(
        2.0, gt=0, le=10_000, description="Requests in flight per replica that Serve aims for (Ray's default 2)."
    )
    upscale_delay_s: float = Field(
        30.0, ge=0, le=86_400, description="How long the load must stay high before a replica is added (Ray's 30 s)."
    )
    downscale_delay_s: float = Field(
        600.0, ge=0, le=86_400, description="How long the load must stay low before a replica goes (Ray's 600 s)."
    )


class ServeResources(StrictModel):
    """What one replica reserves (explicit, like every worker and trial)."""

    cpu: float = Field(1.0, ge=0, le=MAX_RESOURCE, description="CPUs per replica.")
    gpu: float = Field(0.0, ge=0, le=MAX_RESOURCE, description="GPUs per replica.")


class ServeConfig(StrictModel):
    """``serveConfig``: deploy a checkpoint behind an HTTP endpoint with Ray Serve."""

    checkpoint_path: str | None = Field(
        None, min_length=1, description="Checkpoint directory to serve (a result's checkpointPath)."
    )
    experiment_path: str | None = Field(
        None,
        min_length=1,
        description="A raydt experiment directory (a result's experimentPath): its best checkpoint is served.",
    )
    framework: Framework | None = Field(None, description="Default: read from the checkpoint's raydt_meta.json.")
    predictor_path: str | None = Field(
        None,
        min_length=1,
        description="'file.py:Class' or 'module:Class': Class(checkpoint_dir).predict(instances) -> one "
        "prediction per instance. Default: the built-in trainers' predictor.",
    )
    num_replicas: Annotated[int, Field(ge=1, le=10_000)] | ReplicaRange = Field(
        1, description="Replicas, or {min, max} for Ray Serve autoscaling."
    )
    resources_per_replica: ServeResources = Field(default_factory=ServeResources)
    max_batch_size: int = Field(1, ge=1, le=4096, description="Ray Serve request batching (1: off).")
    batch_wait_timeout_s: float = Field(0.01, ge=0, le=60, description="Longest wait to fill a batch.")
    max_instances: int = Field(1024, ge=1, le=1_000_000, description="Most instances in one request (400 above).")
    max_request_bytes: int = Field(
        1_048_576, ge=64, le=1 << 31, description="Largest request body in bytes (413 above)."
    )
    host: str = Field("127.0.0.1", min_length=1, description="Bind address (anything else than loopback warns).")
    port: int = Field(8000, ge=1, le=65535)
    route_prefix: str = Field("/", pattern=r"^/[A-Za-z0-9._~/-]*$", description="Route of the endpoint.")
    auth_token: str | None = Field(
        None,
        min_length=8,
        description="Require 'Authorization: Bearer <token>' on every request (or set RAYDT_SERVE_TOKEN).",
    )


class DataSource(StrictModel):
    """One dataset read with Ray Data: files of one format, the label column, the feature columns."""

    format: Literal["csv", "parquet", "json", "numpy", "images"] = Field(
        description="Ray Data reader: read_csv | read_parquet | read_json | read_numpy | read_images."
    )
    paths: str | Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] = Field(
        description="Files, folders or globs; local paths or any filesystem Ray Data reads (s3://, gs://, ...)."
    )
    label: str | None = Field(
        None, min_length=1, description="Label column (the built-in trainers need one; validation inherits train's)."
    )
    features: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, min_length=1, description="Feature columns (default: every column but the label)."
    )


class DataConfig(StrictModel):
    """``dataConfig``: datasets read, preprocessed and sharded with Ray Data, fed to Ray Train as ``datasets=``."""

    train: DataSource
    validation: DataSource | None = None
    validation_split: float | None = Field(
        None, gt=0, lt=1, description="Without validation: the fraction of train rows held out (default 0.2)."
    )
    preprocess: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Steps applied in order, each {step: options}: standardize, minMaxScale, oneHot, fillNa, "
        "dropColumns, cast (fitted on the training split only, saved with the checkpoint), or "
        "{mapBatches: 'file.py:function', batchSize, concurrency}.",
    )
    materialize: bool = Field(
        True, description="Keep the preprocessed data in Ray's object store (false: stream from files each epoch)."
    )
    concurrency: int = Field(2, ge=1, le=10_000, description="Ray Data read and map tasks at once (conservative).")
    batch_size: int = Field(
        1024, ge=1, le=10_000_000, description="Rows per batch in Ray Data map steps and shard reads."
    )
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of validationSplit's shuffle.")
    shuffle_strategy: Literal["sort_shuffle_pull_based", "sort_shuffle_push_based", "hash_shuffle", "shuffle_v2"] = (
        Field(
            "sort_shuffle_pull_based",
            description="Ray Data's shuffle for the fitting aggregations. raydt's default (plain tasks) fits a "
            "step in ~0.3 s on 2 CPUs where Ray's own (shuffle_v2, actors) takes ~5 s; use shuffle_v2 for big data.",
        )
    )


class Spec(StrictModel):
    """A whole raydt spec."""

    mode: Mode
    config: ClusterConfig
    train_config: TrainConfig = Field(default_factory=TrainConfig)
    tune_config: TuneConfig | None = None
    run_config: RunConfig = Field(default_factory=RunConfig)
    serve_config: ServeConfig | None = None
    data_config: DataConfig | None = None
    k8s_config: K8sConfig | None = Field(None, alias="k8sConfig", description="raydt k8s only (raydt run ignores it).")
