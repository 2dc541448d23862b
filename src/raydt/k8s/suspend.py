"""Suspend a RayCluster from inside its own head pod: one merge patch of ``spec.suspend: true`` (KubeRay >= 1.1 then
deletes every pod and keeps the object) with the reason in the ``raydt/stopped`` annotation, sent to the Kubernetes
API with the pod's service account. The standard library only (urllib, ssl): no Kubernetes client in the image.

In a pod the API is ``https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`` and the credentials are the files
of ``/var/run/secrets/kubernetes.io/serviceaccount`` (``token``, ``ca.crt``, ``namespace``); both are arguments, so
the tests send the same requests to a local server. The token is read for every request: the kubelet renews it.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CREDENTIALS = Path("/var/run/secrets/kubernetes.io/serviceaccount")
STOPPED = "raydt/stopped"  # the annotation that says why the cluster was suspended
MERGE_PATCH = "application/merge-patch+json"
TIMEOUT_S = 10.0


class ApiError(RuntimeError):
    """The Kubernetes API refused or could not be reached; the message says which and why."""


@dataclass(frozen=True)
class Api:
    """The Kubernetes API as the pod's service account sees it."""

    base: str  # https://host:port
    credentials: Path = CREDENTIALS

    @classmethod
    def in_cluster(cls, base: str | None = None, credentials: str | Path | None = None) -> Api:
        """``base`` (default: from ``KUBERNETES_SERVICE_HOST``/``_PORT``) with the service account's files."""
        if base is None:
            host = os.environ.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc")
            port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
            base = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
        return cls(base.rstrip("/"), Path(credentials) if credentials is not None else CREDENTIALS)

    def namespace(self) -> str:
        return self._file("namespace")

    def path(self, name: str) -> str:
        """The RayCluster ``name`` of the pod's namespace."""
        return f"/apis/ray.io/v1/namespaces/{self.namespace()}/rayclusters/{name}"

    def _file(self, name: str) -> str:
        try:
            return (self.credentials / name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ApiError(f"cannot read the service account's {name} ({self.credentials / name}: {exc})") from None

    def request(self, method: str, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The RayCluster ``name`` after ``method`` (GET, or PATCH with ``body`` as a merge patch)."""
        req = urllib.request.Request(self.base + self.path(name), method=method)
        req.add_header("Authorization", f"Bearer {self._file('token')}")
        req.add_header("Accept", "application/json")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            req.add_header("Content-Type", MERGE_PATCH)
        context = None
        if self.base.startswith("https:"):
            ca = self.credentials / "ca.crt"
            context = ssl.create_default_context(cafile=str(ca) if ca.is_file() else None)
        try:
            with urllib.request.urlopen(req, data=data, timeout=TIMEOUT_S, context=context) as resp:
                found: dict[str, Any] = json.loads(resp.read() or b"{}")
                return found
        except urllib.error.HTTPError as exc:
            raise ApiError(f"{method} {req.full_url}: HTTP {exc.code} {_message(exc)}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ApiError(f"{method} {req.full_url}: {getattr(exc, 'reason', exc)}") from None


def _message(exc: urllib.error.HTTPError) -> str:
    """The API's own words (a ``Status`` document's message), else the HTTP reason."""
    try:
        return str(json.loads(exc.read()).get("message") or exc.reason)
    except (ValueError, AttributeError, OSError):
        return str(exc.reason)


def suspend_patch(reason: str) -> dict[str, Any]:
    """The merge patch: suspended, and why (a later suspension's reason replaces it)."""
    return {"metadata": {"annotations": {STOPPED: reason}}, "spec": {"suspend": True}}


def suspend(api: Api, name: str, reason: str) -> dict[str, Any]:
    """Suspend the RayCluster ``name`` (``ApiError`` when the API refuses); the RayCluster as patched."""
    return api.request("PATCH", name, suspend_patch(reason))
