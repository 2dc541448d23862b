"""The parts of the result that a command beyond train and tune adds: MLflow tracking, a served model, a predict
run's output, Ray Jobs, KubeRay manifests (see ``results.model`` for the rules every field follows)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from raydt.results.fields import Number, ResultModel, opt


class RegisteredModel(ResultModel):
    """The model version registered from the best checkpoint (runConfig.tracking.mlflow.registerModel)."""

    name: str = Field(description="The registered model.")
    version: int = Field(description="The new version.")
    alias: str = Field(description="The alias pointing at it (modelAlias).")
    uri: str = Field(description="models:/NAME@ALIAS: serve it with serveConfig.checkpointPath.")


class MlflowInfo(ResultModel):
    """Where the run was logged in MLflow."""

    tracking_uri: str = Field(description="The tracking URI logged to.")
    experiment_name: str = Field(description="The MLflow experiment.")
    experiment_id: str | None = opt("Its id.")
    run_id: str | None = opt("The run (tune: the parent run of the search).")
    run_name: str | None = opt("Its name.")
    local_store: str | None = opt(
        "The local sqlite file used when no trackingUri (nor MLFLOW_TRACKING_URI) was given; view it with "
        "`mlflow ui --backend-store-uri sqlite:///<localStore>`."
    )
    nested_runs: int | None = opt("Tune mode: nested runs, one per trial.")
    best_run_id: str | None = opt("Tune mode: the best trial's nested run (tagged raydt.best).")
    registered_model: RegisteredModel | None = opt("The model version registered from the best checkpoint.")


class TrackingInfo(ResultModel):
    """runConfig.tracking: where the run was logged."""

    mlflow: MlflowInfo | None = opt("MLflow.")


class ServedModelInfo(ResultModel):
    """One model of a multi-model endpoint (``serveConfig.models``), as ``GET /models`` lists it."""

    name: str = Field(description="Its route: POST {endpoint}/models/<name>/predict.")
    kind: Literal["single", "variants", "ensemble"] = Field(
        description="single: one checkpoint; variants: a weighted canary split; ensemble: the top-k combined."
    )
    predict: str = Field(description="POST rows here.")
    metadata: str = Field(description="GET: the model's framework, classes and features (each member's).")
    framework: str | None = Field(description="The framework that trained it (its checkpoint's raydt_meta.json).")
    metric: dict[str, Any] | None = Field(
        description="{name, mode, value}: the run's metric for a checkpoint chosen from an experiment; else null."
    )
    checkpoints: list[dict[str, Any]] = Field(
        description="What answers: [{name, checkpoint, weight (variants), metric (from an experiment)}]."
    )
    generation: int = Field(description="1 when deployed, +1 with each raydt serve update of this model.")
    combine: str | None = Field(None, description="An ensemble's combine rule (mean or vote).")
    replicas: int | dict[str, Any] = Field(description="Replicas per checkpoint: a count, or the autoscaling range.")
    resources_per_replica: dict[str, Number] = Field(description="Ray resources per replica ({CPU, GPU}).")


class ServeInfo(ResultModel):
    """A served model's URLs and settings."""

    predict: str = Field(description="POST rows here for class probabilities.")
    healthz: str = Field(description="GET: 200 once a replica answers.")
    metadata: str = Field(description="GET: the checkpoint's framework, classes and features.")
    num_replicas: int | dict[str, Any] = Field(
        description="serveConfig.numReplicas: a count, or {min, max, ...} when Ray Serve autoscales."
    )
    resources_per_replica: dict[str, Number] = Field(description="Ray resources per replica ({CPU, GPU}).")
    max_batch_size: int = Field(description="Ray Serve request batching (1: off).")
    auth: bool = Field(description="Whether a bearer token is required.")
    replicas: dict[str, int] | None = opt("Ray Serve's count of replicas by state (RUNNING, STARTING, ...).")
    models: list[ServedModelInfo] | None = opt(
        "serveConfig.models: each model as GET {endpoint}/models lists it (predict: {endpoint}/models/<name>/predict)."
    )


class PredictOutput(ResultModel):
    """Where a predict run wrote its predictions (predictConfig.output)."""

    path: str = Field(description="The output folder (absolute, or the URI given), moved into place at the end.")
    format: Literal["parquet", "csv", "json"] = Field(description="The files' format (json: JSON lines).")
    files: list[str] = Field(description="The files written in it, as paths relative to path, sorted.")


class Deployment(ResultModel):
    """A running serve run as recorded for `raydt serve status` (a record may carry more keys)."""

    model_config = ConfigDict(extra="allow")

    pid: int | None = opt("The serving process.")
    port: int | None = opt("serveConfig.port.")
    endpoint: str | None = opt("The base URL.")
    mode: str | None = opt("The mode of the spec that serves.")
    checkpoint_path: str | None = opt("The served checkpoint.")
    log_file: str | None = Field(None, description="The serving run's log file (null: not started by the CLI).")
    replicas: dict[str, int] | None = opt("Ray Serve's count of replicas by state.")
    state_file: str | None = opt("The record's file.")
    alive: bool | None = opt("The process lives.")
    healthy: bool | None = opt("The endpoint answers /healthz.")


class K8sManifests(ResultModel):
    """What ``raydt k8s --out`` wrote."""

    file: str = Field(description="The YAML file written (absolute).")
    documents: list[str] = Field(
        description="Its documents as Kind/name: the ConfigMap, then the RayJob or RayCluster."
    )
    dockerfile: str | None = opt(
        "raydt k8s --dockerfile: the Dockerfile written (absolute); build and push it as --image."
    )


JobStatus = Literal["PENDING", "RUNNING", "STOPPED", "SUCCEEDED", "FAILED"]


class JobRow(ResultModel):
    """One Ray Job as ``raydt jobs list`` / ``status`` show it."""

    job_id: str = Field(description="The submission id (raydt submit prints it).")
    status: JobStatus = Field(description="Ray's job status.")
    message: str | None = opt("Ray's message about the status.")
    entrypoint: str | None = opt("The command the job runs.")
    start_time: Number | None = opt("Seconds since the epoch.")
    end_time: Number | None = opt("Seconds since the epoch (ended jobs).")
    run_name: str | None = opt("runConfig.name of the submitted spec (raydt's jobs).")
    mode: str | None = opt("The submitted spec's mode (raydt's jobs).")


class Submission(ResultModel):
    """What ``raydt submit`` sent with the job."""

    run_name: str = Field(description="runConfig.name the run has on the cluster (set here when not given).")
    working_dir: str | None = opt("The folder sent as Ray's runtime_env working_dir (none: built-in code only).")
    files: int = Field(description="Files in it after the excludes.")
    bytes: int = Field(description="Their size before compression.")
    excludes: list[str] = Field(description="Patterns left out (Ray also skips what .gitignore lists).")
    py_modules: list[str] = Field(description="raydt's package folder when it was sent (--no-ship-raydt: none).")
    entrypoint: str = Field(description="The job's entrypoint command.")
    entrypoint_resources: dict[str, Number] = Field(description="CPU and GPU the driver process takes.")
    address: str = Field(description="The dashboard the job went to.")
    token_source: str = Field(description="Where the auth token came from (never the token), or none.")
    cluster_ray_version: str = Field(description="The cluster's Ray version.")


class BundleInfo(ResultModel):
    """What ``raydt bundle`` packed."""

    path: str = Field(description="The .tar.gz written (absolute path).")
    experiment: str = Field(description="The experiment's name: its folder in the bundle.")
    size_bytes: int = Field(description="The bundle's size.")
    files: int = Field(description="Files in it (raydt_bundle.json, its manifest, included).")
    redactions: int = Field(description="Secret values replaced by [redacted] in the copies (never in the originals).")
    redacted_files: list[str] = Field(description="The members that had a secret replaced.")
    left_out: list[str] = Field(description="'member (why)' for what was not packed: checkpoints, pickles, ...")
    with_checkpoints: bool = Field(description="--with-checkpoints: checkpoint folders and large artifacts packed.")
