"""The input model: the seed's schema plus raydt's camelCase extensions (pydantic v2, strict types).

Field names are snake_case in Python and camelCase in the spec (aliases only: a spec must use
camelCase). Unknown keys are rejected; cross-field rules live in ``spec.checks``. The base class is in
``spec.strict``, ``config`` and ``trainConfig.scalingConfig`` in ``spec.resources``, ``dataConfig`` in
``spec.data_model``, ``predictConfig`` in ``spec.predict_model``, ``runConfig`` in ``spec.run_model``; everything is
imported from here. ``tuneConfig.searchSpace`` stays JSON in the model (its schema comes from ``raydt.space``): its
problems are reported domain by domain (``spec.space_checks``) and it is parsed into typed nodes once valid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from raydt.registry import DEFAULT_SCHEDULER, DEFAULT_SEARCHER, FRAMEWORK_NAMES, SCHEDULERS, SEARCHERS, SEED_FRAMEWORKS
from raydt.spec.data_model import DataConfig as DataConfig  # re-exported: the model is read from here
from raydt.spec.data_model import DataSource as DataSource
from raydt.spec.k8s import K8sConfig as K8sConfig
from raydt.spec.llm_model import LanguageModel as LanguageModel  # re-exported: the model is read from here
from raydt.spec.llm_model import LoraSpec as LoraSpec
from raydt.spec.llm_model import TextData as TextData
from raydt.spec.predict_model import OUTPUT_FORMATS as OUTPUT_FORMATS  # re-exported: the model is read from here
from raydt.spec.predict_model import PREDICTION_COLUMN as PREDICTION_COLUMN
from raydt.spec.predict_model import PROBABILITIES_COLUMN as PROBABILITIES_COLUMN
from raydt.spec.predict_model import PredictConfig as PredictConfig
from raydt.spec.predict_model import PredictOutput as PredictOutput
from raydt.spec.resources import ClusterConfig as ClusterConfig
from raydt.spec.resources import Resources as Resources
from raydt.spec.resources import ScalingConfig as ScalingConfig
from raydt.spec.resources import WorkerRange as WorkerRange
from raydt.spec.run_model import CheckpointSpec as CheckpointSpec  # re-exported: the model is read from here
from raydt.spec.run_model import MlflowSpec as MlflowSpec
from raydt.spec.run_model import NotifySpec as NotifySpec
from raydt.spec.run_model import RunConfig as RunConfig
from raydt.spec.run_model import TrackingSpec as TrackingSpec
from raydt.spec.search_model import ConstraintSpec as ConstraintSpec  # re-exported: the model is read from here
from raydt.spec.search_model import SearchKeys
from raydt.spec.search_model import WarmStartSpec as WarmStartSpec
from raydt.spec.serve_models import ServedModel as ServedModel  # re-exported: the model is read from here
from raydt.spec.strict import MAX_RESOURCE, StrictModel

Mode = Literal["train", "tune", "cluster", "serve", "predict"]
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
    model: Annotated[str, Field(min_length=1)] | LanguageModel | None = Field(
        None,
        description="framework transformers: {pretrained | config, tokenizer}, the causal language model to "
        "fine-tune. framework pytorch: your model, trained by raydt's own distributed loop (no Ray code). "
        "'models.py:build_model' (a function taking the config dict, returning an nn.Module) or "
        "'models.py:Net' (an nn.Module class: its keyword arguments are taken from trainLoopConfig/searchSpace "
        "by name). The loop's keys: lr, batchSize, epochs, optimizer (adam|adamw|sgd), weightDecay, momentum, "
        "gradClip, accumulate, schedule (none|cosine|step|onecycle), warmupEpochs, patience, precision "
        "(fp32|bf16; fp16 on GPU), seed. Needs trainConfig.data or dataConfig. framework lightning (required "
        "there): your "
        "LightningModule (class or function, as above), run by Lightning's Trainer under Ray Train "
        "(RayDDPStrategy); the loop's keys: epochs, batchSize, gradClip, accumulate, patience, precision, seed.",
    )
    data: str | None = Field(
        None,
        min_length=1,
        description="With trainConfig.model: 'data.py:load_data', a function (taking the config dict, or "
        "nothing) returning (train, validation) torch Datasets or {'train': ..., 'validation': ...}. Each worker "
        "reads its own part of train (a DistributedSampler); or leave it out and give dataConfig (Ray Data: the "
        "model gets its features vector and the label's class index). framework lightning: optional (default: "
        "the module's own dataloaders), and may return a LightningDataModule.",
    )
    loss: str | None = Field(
        None,
        min_length=1,
        description="With trainConfig.model: cross_entropy (default; reports val_accuracy), bce (on logits; "
        "reports val_accuracy), mse, l1, huber, or 'losses.py:fn' (fn(outputs, targets) -> scalar tensor).",
    )
    metrics: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="With trainConfig.model: 'metrics.py:fn' functions fn(outputs, targets) -> float, computed on "
        "the whole validation set each epoch and reported under the function's name.",
    )
    strategy: Literal["ddp", "fsdp"] | None = Field(
        None,
        description="With trainConfig.model: ddp (default; DistributedDataParallel through Ray Train's "
        "prepare_model) or fsdp (PyTorch's FSDP2 fully_shard: parameters, gradients and optimizer state sharded "
        "across the workers; runs on CPU over gloo too). Checkpoints hold the full state either way.",
    )
    preprocess: str | None = Field(
        None,
        min_length=1,
        description="With trainConfig.model and trainConfig.data: 'predict.py:preprocess', fn(instances) (or "
        "fn(instances, config)) -> the model's inputs for a request's instances (a tensor, array or nested lists, "
        "one row of the trained input shape per instance): what mode serve applies to the raw rows first, e.g. the "
        "standardisation your data function applied. Saved with the checkpoint; /metadata names it.",
    )
    postprocess: str | None = Field(
        None,
        min_length=1,
        description="With trainConfig.model: 'predict.py:postprocess', fn(outputs, instances) (or fn(outputs)) "
        "-> one prediction per instance: what mode serve answers instead of class labels or raw outputs "
        "(outputs: the model's output tensor for the request's instances). Saved with the checkpoint.",
    )
    lora: LoraSpec | None = Field(
        None,
        description="framework transformers: train LoRA adapters (peft) {r, alpha, dropout, targetModules, bits} "
        "instead of every weight; checkpoints then hold the adapter (small) and the training state.",
    )
    merge_adapter: bool = Field(
        False,
        description="framework transformers with lora: also save the adapter merged into a full model "
        "(merged/ in the last checkpoint), which mode serve and predict then use.",
    )


class TuneConfig(SearchKeys):
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
    metric: str | Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None = Field(
        None,
        min_length=1,
        description="Metric to optimise (default: the framework's), or a list of metrics: a multi-objective "
        "search (Optuna) whose result carries results.paretoFront.",
    )
    mode: MetricMode | list[MetricMode] | None = Field(
        None, description="'min' or 'max' (default: the framework's); a list, one per metric, with a metric list."
    )
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
    models: list[ServedModel] | None = Field(
        None,
        min_length=1,
        max_length=32,
        description="Several models behind one endpoint, each at /models/<name>/predict (GET /models lists them): "
        "[{name, checkpointPath | experimentPath | ensemble | variants, ...}]. Instead of checkpointPath and "
        "experimentPath; numReplicas, resourcesPerReplica, predictorPath and framework are each model's defaults.",
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
    predict_config: PredictConfig | None = None
    k8s_config: K8sConfig | None = Field(None, alias="k8sConfig", description="raydt k8s only (raydt run ignores it).")
