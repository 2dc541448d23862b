"""The HTTP rules every raydt endpoint keeps (one model or several): the bearer token, the body and instance
limits, JSON 400s naming the rule, JSON 500s naming the model's exception (its traceback in the replica's log).
Imports no Ray."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

#: Ray Serve's replica logger: its lines go to the replica's log file (and its stderr, which Ray streams
#: to the serving process's log file), tagged with the replica.
logger = logging.getLogger("ray.serve")


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def failure_body(exc: Exception, where: str) -> dict[str, str]:
    """The model raised: the client's JSON (class and message, no traceback); the full traceback goes to the
    replica's log."""
    logger.exception("raydt: %s raised %s", where, type(exc).__name__)
    text = str(exc).strip()
    text = text if len(text) <= 500 else text[:497] + "..."
    return {
        "error": f"the model raised an exception while answering {where}; the replica's log has the traceback",
        "exception": f"{type(exc).__name__}: {text}" if text else type(exc).__name__,
    }


def failure(exc: Exception, where: str) -> JSONResponse:
    return JSONResponse(failure_body(exc, where), status_code=500)


def unauthorized(request: Request, token: str | None) -> JSONResponse | None:
    """A 401 unless the request carries the bearer token (when one is set)."""
    if token is None:
        return None
    given = request.headers.get("authorization", "")
    if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return None
    return error(401, "missing or wrong bearer token (Authorization: Bearer <token>)")


def local_path(request: Request, prefix: str) -> str:
    """The request's path below the route prefix, as '/a/b'."""
    path = request.url.path
    if prefix and path.startswith(prefix):
        path = path[len(prefix) :]
    return "/" + path.strip("/")


async def read_json(request: Request, opts: dict[str, Any]) -> Any:
    """The body as JSON, or the 413/400 answer that names the broken rule."""
    limit = opts["maxRequestBytes"]
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return error(413, f"request body of {declared} bytes exceeds serveConfig.maxRequestBytes ({limit})")
    body = await request.body()
    if len(body) > limit:
        return error(413, f"request body of {len(body)} bytes exceeds serveConfig.maxRequestBytes ({limit})")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return error(400, f"body is not valid JSON: {exc}")


async def read_instances(request: Request, opts: dict[str, Any]) -> tuple[Any, bool] | JSONResponse:
    """The body's (instances, probabilities), or the 413/400 answer that names the broken rule."""
    payload = await read_json(request, opts)
    if isinstance(payload, JSONResponse):
        return payload
    if not isinstance(payload, dict) or "instances" not in payload:
        return error(400, 'body must be a JSON object {"instances": [[...], ...]}')
    instances = payload["instances"]
    if isinstance(instances, list) and len(instances) > opts["maxInstances"]:
        return error(400, f"{len(instances)} instances exceed serveConfig.maxInstances ({opts['maxInstances']})")
    return instances, payload.get("probabilities", False) is True
