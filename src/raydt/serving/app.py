"""The Ray Serve deployment: POST {route}/predict, GET {route}/healthz, GET {route}/metadata.

Imports Ray Serve: loaded only for a serve run (and inside its replicas).
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse

from raydt.serving.http import error, failure, local_path, read_instances, read_json, unauthorized
from raydt.serving.predictors import BuiltinPredictor, GenerationPredictor, PredictorError


class Predicting:
    """A predictor loaded once per replica (the checkpoint's built-in one, or the user's class), with Ray Serve's
    request batching for the built-in one: the part of a replica that one model and several models share."""

    predictor: Any
    batching: bool

    def load(self, options: dict[str, Any]) -> None:
        from raydt.serving.loading import make_predictor

        self.predictor = make_predictor(options)
        self.batching = options["maxBatchSize"] > 1 and isinstance(self.predictor, BuiltinPredictor)
        self._batched.set_max_batch_size(options["maxBatchSize"])
        self._batched.set_batch_wait_timeout_s(options["batchWaitTimeoutS"])

    async def outputs(self, instances: Any, probabilities: bool) -> dict[str, Any]:
        """{predictions[, probabilities]} for a request's instances; PredictorError when they do not fit."""
        rows = self.predictor.rows(instances)
        if self.batching:
            return dict(await self._batched((rows, probabilities)))
        if isinstance(self.predictor, BuiltinPredictor):
            return dict(self.predictor.predict(rows, probabilities))
        # a user's predictor may block (I/O, sleeps): off the event loop, so the replica stays responsive
        return dict(await asyncio.to_thread(self.predictor.predict, rows, probabilities))

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


@serve.deployment(name="raydt-model")
class ModelServer(Predicting):
    """One replica: a predictor loaded from the checkpoint, behind raydt's small HTTP API."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.opts = options
        self.prefix = options["routePrefix"].rstrip("/")
        self.token: str | None = options.get("authToken")
        self.load(options)

    async def __call__(self, request: Request) -> JSONResponse:
        denied = unauthorized(request, self.token)
        if denied is not None:
            return denied
        path = local_path(request, self.prefix)
        if path == "/healthz" and request.method == "GET":
            return JSONResponse({"status": "ok"})
        try:
            if path == "/metadata" and request.method == "GET":
                return JSONResponse(self.predictor.metadata())
            generates = isinstance(self.predictor, GenerationPredictor)
            if path == "/generate" and generates:
                if request.method != "POST":
                    return error(405, "use POST for /generate")
                return await self._generate(request)
            if path == "/predict" and not generates:
                if request.method != "POST":
                    return error(405, "use POST for /predict")
                return await self._predict(request)
        except Exception as exc:  # noqa: BLE001 - the model's (or a user predictor's) failure: a JSON 500
            return failure(exc, f"{request.method} {path}")
        action = "POST /generate" if isinstance(self.predictor, GenerationPredictor) else "POST /predict"
        return error(404, f"no route {request.method} {request.url.path}: use {action}, GET /healthz, GET /metadata")

    async def _generate(self, request: Request) -> JSONResponse:
        """A language model's answer: the body checked (limits, JSON, fields), generation off the event loop."""
        payload = await read_json(request, self.opts)
        if isinstance(payload, JSONResponse):
            return payload
        try:
            out = await asyncio.to_thread(self.predictor.generate, payload)
        except PredictorError as exc:
            return error(400, str(exc))
        return JSONResponse(out)

    async def _predict(self, request: Request) -> JSONResponse:
        read = await read_instances(request, self.opts)
        if isinstance(read, JSONResponse):
            return read
        instances, probabilities = read
        try:
            out = await self.outputs(instances, probabilities)
        except PredictorError as exc:
            return error(400, str(exc))
        return JSONResponse(out)


def replica_options(replicas: int | dict[str, Any], cpu: float, gpu: float) -> dict[str, Any]:
    """A model deployment's options: explicit resources per replica, and a fixed count or Serve's autoscaling."""
    options: dict[str, Any] = {"ray_actor_options": {"num_cpus": cpu, "num_gpus": gpu}}
    if isinstance(replicas, dict):
        options["autoscaling_config"] = {
            "min_replicas": int(replicas["min"]),
            "max_replicas": int(replicas["max"]),
            "initial_replicas": max(1, int(replicas["min"])),
            "target_ongoing_requests": replicas["targetOngoingRequests"],
            "upscale_delay_s": replicas["upscaleDelayS"],
            "downscale_delay_s": replicas["downscaleDelayS"],
        }
    else:
        options["num_replicas"] = int(replicas)
    return options


def build(options: dict[str, Any]) -> Any:
    """The bound application for ``serve.run``, with explicit replica resources and count."""
    deployment_options = replica_options(options["numReplicas"], options["cpu"], options["gpu"])
    return ModelServer.options(**deployment_options).bind(options)  # type: ignore[attr-defined]
