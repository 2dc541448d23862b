"""``runConfig``: naming, storage, checkpoints, resume, reports, experiment tracking and notifications of a run (Ray's
RunConfig and what raydt adds around it). Read through ``raydt.spec.model``, which re-exports it."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field

from raydt.spec.strict import StrictModel

MetricMode = Literal["min", "max"]


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


#: ``runConfig.notify[].on`` values: when a message is sent
NotifyEvent = Literal["finished", "failed", "newBest"]
DEFAULT_EVENTS: tuple[NotifyEvent, ...] = ("finished", "failed")


class NotifySpec(StrictModel):
    """``runConfig.notify[]``: one Apprise URL and the events it is told."""

    url: str = Field(
        min_length=1,
        max_length=4096,
        description="An Apprise URL: slack://..., msteams://..., discord://..., mailto://..., ntfy://..., "
        "json://host:port/path (a plain JSON webhook), ... (https://github.com/caronc/apprise/wiki). Shown in "
        "warnings as its scheme and host only.",
    )
    on: list[NotifyEvent] = Field(
        default_factory=lambda: list(DEFAULT_EVENTS),
        min_length=1,
        description="'finished' (status success or partial), 'failed' (status error, with the code and hint) and "
        "'newBest' (train and tune: the metric's best improved; at most once a minute per URL).",
    )

    def shown(self) -> str:
        """The URL as errors and warnings show it: its scheme and host, never a token, password or path."""
        return shown_url(self.url)


#: Schemes whose host is a server's name (elsewhere it is often a token: slack://TOKEN_A/TOKEN_B/...).
HOST_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms", "mailto", "mailtos", "http", "https"})


def shown_url(url: str) -> str:
    """``scheme://host[:port]`` of an Apprise URL; the host is masked (``***``) unless it is plainly a host name
    (a webhook's or mail server's, or one with a dot: a domain or an IP address)."""
    scheme, _, rest = url.partition("://")
    if not rest or not scheme.replace("+", "").isalnum():
        return "<an unreadable URL>"
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a token with a colon where a port would be (tgram://123:ABC/...)
        return f"{scheme}://***"
    if not host or (scheme.lower() not in HOST_SCHEMES and "." not in host and host != "localhost"):
        return f"{scheme}://***"
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port else "")


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
    max_preemptions: int | None = Field(
        None,
        ge=0,
        le=100000,
        description="Ray Train: restarts after a node of the run was drained for preemption (a spot node taken back, "
        "a Kubernetes node upgrade), counted apart from maxFailures; null (the default): no limit, 0: a "
        "preemption fails the run. On the drain notice raydt's loops checkpoint at each epoch end until Ray Train "
        "restarts the workers; results.retries lists each as NODE_PREEMPTED.",
    )
    shared_storage: bool = Field(
        False,
        description="storagePath is a filesystem every node mounts (NFS...): allows a local path on a "
        "multi-node cluster. URIs (s3://, gs://, ...) are always shared.",
    )
    fast_path: bool = Field(
        True,
        description="A mode: train run on 1 worker (not elastic) runs its loop in one Ray actor with the worker's "
        "resources, without Ray Train's controller and worker group: the same checkpoints in the same folder, "
        "resume, maxFailures and maxPreemptions, and its first result ~10 s sooner. No torch.distributed process "
        "group is set up (as with 1-worker trials); false: run it with TorchTrainer & co. like N workers.",
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
    notify: list[NotifySpec] = Field(
        default_factory=list,
        max_length=20,
        description="Notifications through Apprise (pip install 'ray-distributed-trainer[notify]'): "
        "[{url, on: [finished, failed, newBest]}]. A message that cannot be sent is a warning, never a failed run.",
    )
