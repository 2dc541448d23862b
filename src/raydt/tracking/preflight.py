"""Before Ray starts: MLflow is installed, the tracking URI is one MLflow understands, and its store answers.

A run whose tracking cannot work fails here, in about a second, instead of after training; once training runs,
tracking failures are only warnings (``sink``).
"""

from __future__ import annotations

import importlib.util
import os
from urllib.parse import urlparse

from raydt.errors import MissingDependencyError, SpecError, SpecIssue, TrackingError, TrackingUnavailableError
from raydt.plan import TrainPlan
from raydt.ray_config import scoped_env
from raydt.tracking import client
from raydt.tracking.sink import one_line

#: URI schemes of MLflow's tracking stores (``databricks`` may also be written bare).
SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql", "file", "databricks", "databricks-uc", "uc")
URI_PATH = "runConfig.tracking.mlflow.trackingUri"
#: The probe asks once, briefly: a server that does not answer now will not be waited for.
PROBE_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


def check(p: TrainPlan) -> None:
    """Raise when ``p``'s tracking cannot work (nothing to check without ``runConfig.tracking``)."""
    if p.tracking is None:
        return
    if importlib.util.find_spec("mlflow") is None:
        raise MissingDependencyError(
            "runConfig.tracking.mlflow needs the 'mlflow' package, which is not installed",
            hint="pip install 'ray-distributed-trainer[tracking]' (or pip install 'mlflow>=3').",
        )
    t = client.target(p)
    if t.local_store:  # raydt's own sqlite file, created in the experiment directory when the run starts
        return
    source = " (from MLFLOW_TRACKING_URI)" if os.environ.get("MLFLOW_TRACKING_URI") == t.uri else ""
    scheme = urlparse(t.uri).scheme or t.uri
    if scheme not in SCHEMES:
        raise SpecError(
            [
                SpecIssue(
                    URI_PATH,
                    f"is not a URI MLflow can track to{source}: scheme '{scheme}' is none of {', '.join(SCHEMES)}",
                    t.uri,
                    "E.g. http://127.0.0.1:5000 (mlflow server) or sqlite:////abs/path/mlflow.db; leave it out for "
                    "a local store in the experiment directory.",
                )
            ]
        )
    with scoped_env(PROBE_ENV, keep_set=True):  # MLflow reads them per request; the user's values win
        try:
            probe = client.make(t.uri)
            probe.search_experiments(max_results=1)
            if p.tracking.register_model:
                probe.search_registered_models(max_results=1)
        except Exception as exc:  # noqa: BLE001 - whatever MLflow raises, the run cannot be tracked
            remote = scheme in ("http", "https")
            raise (TrackingError if remote else TrackingUnavailableError)(
                f"the MLflow tracking {'server' if remote else 'store'} at {t.uri}{source} "
                f"{'does not answer' if remote else 'cannot be used'}: {one_line(exc)}",
                hint=(
                    "Start it (e.g. mlflow server --host 127.0.0.1 --port 5000), check the address, or leave "
                    f"{URI_PATH} out to log to a local sqlite store in the experiment directory."
                    if remote
                    else f"Fix {URI_PATH} (a sqlite:///ABSOLUTE/PATH.db, a database or a server URI)."
                ),
            ) from None
