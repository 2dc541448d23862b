"""The Ray Serve deployment: POST {route}/predict, GET {route}/healthz, GET {route}/metadata.

Imports Ray Serve: loaded only for a serve run (and inside its replicas).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

import numpy as np
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse

from raydt.serving.predictors import BuiltinPredictor, PredictorError

#: Ray Serve's replica logger: its lines go to the replica's log file (and its stderr, which Ray streams
#: to the serving process's log file), tagged with the replica.
logger = logging.getLogger("ray.serve")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _failure(exc: Exception, where: str) -> JSONResponse:
    """The model raised: a JSON 500 naming the exception (class and message, no traceback) for the client;
    the full traceback goes to the replica's log."""
    logger.exception("raydt: %s raised %s", where, type(exc).__name__)
    text = str(exc).strip()
    text = text if len(text) <= 500 else text[:497] + "..."
    return JSONResponse(
        {
            "error": f"the model raised an exception while answering {where}; the replica's log has the traceback",
            "exception": f"{type(exc).__name__}: {text}" if text else type(exc).__name__,
        },
        status_code=500,
    )


@serve.deployment(name="raydt-model")
class ModelServer:
    """One replica: a predictor loaded from the checkpoint, behind raydt's small HTTP API."""

    def __init__(self, options: dict[str, Any]) -> None:
        from raydt.serving.loading import make_predictor

        self.opts = options
        self.prefix = options["routePrefix"].rstrip("/")
        self.token: str | None = options.get("authToken")
        self.predictor = make_predictor(options)
        self.batching = options["maxBatchSize"] > 1 and isinstance(self.predictor, BuiltinPredictor)
        self._batched.set_max_batch_size(options["maxBatchSize"])
        self._batched.set_batch_wait_timeout_s(options["batchWaitTimeoutS"])

    async def __call__(self, request: Request) -> JSONResponse:
        if self.token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                return _error(401, "missing or wrong bearer token (Authorization: Bearer <token>)")
        path = request.url.path
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :]
        path = "/" + path.strip("/")
        if path == "/healthz" and request.method == "GET":
            return JSONResponse({"status": "ok"})
        try:
            if path == "/metadata" and request.method == "GET":
                return JSONResponse(self.predictor.metadata())
            if path == "/predict":
                if request.method != "POST":
                    return _error(405, "use POST for /predict")
                return await self._predict(request)
        except Exception as exc:  # noqa: BLE001 - the model's (or a user predictor's) failure: a JSON 500
            return _failure(exc, f"{request.method} {path}")
        return _error(
            404, f"no route {request.method} {request.url.path}: use POST /predict, GET /healthz, GET /metadata"
        )

    async def _predict(self, request: Request) -> JSONResponse:
        limit = self.opts["maxRequestBytes"]
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return _error(413, f"request body of {declared} bytes exceeds serveConfig.maxRequestBytes ({limit})")
        body = await request.body()
        if len(body) > limit:
            return _error(413, f"request body of {len(body)} bytes exceeds serveConfig.maxRequestBytes ({limit})")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, f"body is not valid JSON: {exc}")
        if not isinstance(payload, dict) or "instances" not in payload:
            return _error(400, 'body must be a JSON object {"instances": [[...], ...]}')
        instances = payload["instances"]
        if isinstance(instances, list) and len(instances) > self.opts["maxInstances"]:
            return _error(
                400, f"{len(instances)} instances exceed serveConfig.maxInstances ({self.opts['maxInstances']})"
            )
        probabilities = payload.get("probabilities", False) is True
        try:
            rows = self.predictor.rows(instances)
            if self.batching:
                out = await self._batched((rows, probabilities))
            elif isinstance(self.predictor, BuiltinPredictor):
                out = self.predictor.predict(rows, probabilities)
            else:  # a user's predictor may block (I/O, sleeps): off the event loop, so the replica stays responsive
                out = await asyncio.to_thread(self.predictor.predict, rows, probabilities)
        except PredictorError as exc:
            return _error(400, str(exc))
        return JSONResponse(out)

    @serve.batch(max_batch_size=1, batch_wait_timeout_s=0.01)  # type: ignore[untyped-decorator]
    async def _batched(self, items: list[tuple[np.ndarray, bool]]) -> list[dict[str, Any]]:
        """Requests gathered by Ray Serve: one model call for all their rows, split back per request."""
        assert isinstance(self.predictor, BuiltinPredictor)
        probs = self.predictor.probabilities(np.concatenate([rows for rows, _ in items]))
        outs, start = [], 0
        for rows, with_probs in items:
            p = probs[start : start + len(rows)]
            start += len(rows)
            out: dict[str, Any] = {"predictions": self.predictor.labels(p)}
            if with_probs:
                out["probabilities"] = np.round(p, 6).tolist()
            outs.append(out)
        return outs


def build(options: dict[str, Any]) -> Any:
    """The bound application for ``serve.run``, with explicit replica resources and count."""
    replicas = options["numReplicas"]
    deployment_options: dict[str, Any] = {
        "ray_actor_options": {"num_cpus": options["cpu"], "num_gpus": options["gpu"]},
    }
    if isinstance(replicas, dict):
        deployment_options["autoscaling_config"] = {
            "min_replicas": replicas["min"],
            "max_replicas": replicas["max"],
            "initial_replicas": max(1, replicas["min"]),
            "target_ongoing_requests": replicas["targetOngoingRequests"],
            "upscale_delay_s": replicas["upscaleDelayS"],
            "downscale_delay_s": replicas["downscaleDelayS"],
        }
    else:
        deployment_options["num_replicas"] = replicas
    return ModelServer.options(**deployment_options).bind(options)  # type: ignore[attr-defined]
