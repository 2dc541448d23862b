"""MLflow client wiring: where a run logs (URI, experiment, artifact location), the client, and the run ids kept in
the experiment directory so that a resumed run logs into the runs it started. Imports MLflow inside functions."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raydt import paths
from raydt.plan import DEFAULT_STORAGE, MlflowPlan, TrainPlan
from raydt.state import read_json, write_json_atomic
from raydt.tracking import LOCAL_ARTIFACTS, LOCAL_DB, STATE_FILE

#: MLflow retries a failed HTTP request 7 times with backoff (minutes against a dead server): raydt asks for
#: fewer, unless the user set these variables.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "15"}
#: MLflow prints "View run ... at: URL" to stdout when a run ends: raydt's stdout is its one JSON document.
QUIET = {"MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}
#: MLflow's limits: a log_batch call takes at most 100 params and 1000 metrics; a param value at most 6000 chars.
MAX_PARAMS, MAX_METRICS, MAX_PARAM_CHARS = 100, 1000, 6000


@dataclass(frozen=True)
class Target:
    """Where a run logs: the URI, whether it is raydt's default local store, the experiment and its artifacts."""

    uri: str
    local_store: str | None  # the default sqlite file (neither trackingUri nor MLFLOW_TRACKING_URI given)
    experiment_name: str
    artifact_location: str | None  # None: the server's default
    state_dir: str  # where STATE_FILE lives (the experiment directory when it is local)


def state_dir(p: TrainPlan) -> str:
    """The experiment directory, or for a remote storagePath (s3://...) a local folder of the same name."""
    if paths.is_remote(p.experiment_path):
        return os.path.join(os.path.expanduser(DEFAULT_STORAGE), p.name)
    return p.experiment_path


def target(p: TrainPlan) -> Target:
    """Resolve ``p.tracking`` into a ``Target`` (the default local store lies in the experiment directory)."""
    m = p.tracking
    assert m is not None
    here = state_dir(p)
    if m.tracking_uri is None:
        db = os.path.join(here, LOCAL_DB)
        return Target(f"sqlite:///{db}", db, m.experiment_name, Path(here, LOCAL_ARTIFACTS).as_uri(), here)
    location = None
    if m.tracking_uri.startswith("sqlite:///"):  # MLflow would put artifacts in ./mlruns of the current directory
        location = Path(m.tracking_uri.removeprefix("sqlite:///")).parent.joinpath(LOCAL_ARTIFACTS).as_uri()
    return Target(m.tracking_uri, None, m.experiment_name, location, here)


def make(uri: str) -> Any:
    """An ``MlflowClient`` for ``uri`` (tracking and model registry), with raydt's HTTP retry defaults."""
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ.update(QUIET)
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(client: Any, t: Target) -> str:
    """The id of ``t.experiment_name``, created (with ``t.artifact_location``) when missing."""
    found = client.get_experiment_by_name(t.experiment_name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(t.experiment_name, artifact_location=t.artifact_location))
    except Exception:  # noqa: BLE001 - created meanwhile by another run: read it again
        again = client.get_experiment_by_name(t.experiment_name)
        if again is None:
            raise
        return str(again.experiment_id)


def load_state(t: Target) -> dict[str, Any]:
    """The run ids this experiment logged to before, if it logged to the same URI (else nothing)."""
    state = read_json(Path(t.state_dir, STATE_FILE))
    return state if state is not None and state.get("trackingUri") == t.uri else {}


def save_state(t: Target, state: dict[str, Any]) -> None:
    os.makedirs(t.state_dir, exist_ok=True)
    write_json_atomic(Path(t.state_dir, STATE_FILE), {**state, "trackingUri": t.uri}, indent=1)


def flat(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested hyperparameters as MLflow params: ``{"opt": {"lr": 0.1}}`` -> ``{"opt.lr": "0.1"}``."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flat(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            out[name] = text[:MAX_PARAM_CHARS]
    return out


def log_params(client: Any, run_id: str, params: dict[str, str]) -> None:
    from mlflow.entities import Param

    items = [Param(k, v) for k, v in params.items()]
    for at in range(0, len(items), MAX_PARAMS):
        client.log_batch(run_id, params=items[at : at + MAX_PARAMS], synchronous=True)


def numbers(metrics: dict[str, Any]) -> dict[str, float]:
    """The numeric metrics of a report (booleans, strings and nested values are not MLflow metrics)."""
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def log_metrics(client: Any, run_id: str, values: dict[str, float], step: int, when: float) -> None:
    from mlflow.entities import Metric

    items = [Metric(k, v, int(when * 1000), step) for k, v in values.items()]
    for at in range(0, len(items), MAX_METRICS):
        client.log_batch(run_id, metrics=items[at : at + MAX_METRICS], synchronous=True)


def last_step(client: Any, run_id: str, key: str) -> int:
    """The highest step logged for ``key`` in ``run_id`` (0: none): a resumed run logs only later steps."""
    return max((int(m.step) for m in client.get_metric_history(run_id, key)), default=0)


def plan_tags(p: TrainPlan, mode: str) -> dict[str, str]:
    """The tags every raydt run carries, then the spec's own."""
    m: MlflowPlan | None = p.tracking
    tags = {
        "raydt.mode": mode,
        "raydt.experiment": p.name,
        "raydt.experimentPath": p.experiment_path,
        "raydt.framework": p.framework.name,
    }
    return {**tags, **(m.tags if m else {})}
