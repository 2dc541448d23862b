"""The model registry: register a run's best checkpoint (a version with an alias), and fetch a registered
model back as a local checkpoint directory for ``mode: serve`` (``models:/NAME@alias``, ``models:/NAME/3``)."""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

from raydt.errors import SpecError, SpecIssue
from raydt.paths import MODEL_URI_PREFIX

CHECKPOINT_ARTIFACT = "checkpoint"  # the artifact folder that holds a run's best checkpoint
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))/?$")


def register(client: Any, name: str, alias: str, run_id: str) -> dict[str, Any]:
    """Register ``run_id``'s checkpoint artifact as a new version of ``name`` and point ``alias`` at it."""
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    source = f"{client.get_run(run_id).info.artifact_uri}/{CHECKPOINT_ARTIFACT}"
    version = client.create_model_version(name, source, run_id=run_id, tags={"raydt.checkpoint": "best"})
    client.set_registered_model_alias(name, alias, version.version)
    return {"name": name, "version": int(version.version), "alias": alias, "uri": f"{MODEL_URI_PREFIX}{name}@{alias}"}


def parse(uri: str) -> tuple[str, str | None, str | None]:
    """(name, alias, version) of a ``models:/`` URI; a malformed one is a spec error at checkpointPath."""
    found = _URI.match(uri)
    if found is None:
        raise SpecError(
            [
                SpecIssue(
                    "serveConfig.checkpointPath",
                    "a registered model must be written models:/NAME@ALIAS or models:/NAME/VERSION",
                    uri,
                    "E.g. models:/iris@champion (the result's tracking.mlflow.registeredModel.uri).",
                )
            ]
        )
    return found["name"], found["alias"], found["version"]


def fetch(uri: str, tracking_uri: str | None) -> str:
    """Download the checkpoint registered at ``uri`` (once per version) and return its local directory."""
    from raydt.errors import TrackingUnavailableError
    from raydt.tracking import client as clients

    name, alias, version = parse(uri)
    tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not tracking_uri:
        raise SpecError(
            [
                SpecIssue(
                    "runConfig.tracking.mlflow.trackingUri",
                    f"is needed to read {uri} (and MLFLOW_TRACKING_URI is not set)",
                    None,
                    "Give the registry's tracking URI (the result's tracking.mlflow.trackingUri).",
                )
            ]
        )
    mlflow_client = clients.make(tracking_uri)
    try:
        found = (
            mlflow_client.get_model_version_by_alias(name, alias)
            if alias
            else mlflow_client.get_model_version(name, version)
        )
        where = os.path.join(tempfile.gettempdir(), "raydt-models", name, str(found.version))
        local = os.path.join(where, os.path.basename(found.source.rstrip("/")))
        if not os.path.isdir(local):
            import mlflow.artifacts

            os.makedirs(where, exist_ok=True)
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=found.source, dst_path=where, tracking_uri=tracking_uri
            )
    except Exception as exc:  # noqa: BLE001 - an unknown model, alias or unreachable registry: one clear error
        raise TrackingUnavailableError(
            f"cannot fetch {uri} from the MLflow registry at {tracking_uri}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:300] if str(exc) else ''}",
            hint="Check the model name and alias (MLflow UI, or the result's tracking.mlflow.registeredModel) "
            "and that the tracking server answers.",
        ) from None
    return str(local)
