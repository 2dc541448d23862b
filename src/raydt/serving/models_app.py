"""Several models behind one endpoint, as Ray Serve applications composed by handles.

- ``raydt`` (the router, the only HTTP ingress): the bearer token, the body limits, ``GET /healthz``,
  ``GET /models``, ``POST /models/<name>/predict``, ``GET /models/<name>/metadata``; it follows the route table
  (``serving.routes``) and calls the model's application through a handle.
- one application per model and generation (no HTTP route of its own): a ``Checkpoint`` deployment per member,
  behind a ``Split`` (a canary's weighted variants) or an ``Ensemble`` (the top-k combined) when there are several.

Every model call answers {"status", "body"}: the router turns it into the HTTP answer, so a bad request (400) and a
raising model (JSON 500) keep their meaning across the handle. Imports Ray Serve.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse

from raydt.serving.app import Predicting, replica_options
from raydt.serving.combine import combine
from raydt.serving.http import error, failure_body, local_path, read_instances, unauthorized
from raydt.serving.predictors import BuiltinPredictor, PredictorError

Answer = dict[str, Any]  # {"status": HTTP status, "body": JSON}


@serve.deployment(name="checkpoint")
class Checkpoint(Predicting):
    """One checkpoint's replica: the predictor of a single model, a variant or an ensemble's member."""

    def __init__(self, member: dict[str, Any], options: dict[str, Any]) -> None:
        self.name = member["name"]
        self.load({**options, "checkpoint": member["checkpoint"]})

    async def answer(self, instances: Any, probabilities: bool) -> Answer:
        try:
            return {"status": 200, "body": await self.outputs(instances, probabilities)}
        except PredictorError as exc:
            return {"status": 400, "body": {"error": str(exc)}}
        except Exception as exc:  # noqa: BLE001 - the model's (or a user predictor's) failure: a JSON 500
            return {"status": 500, "body": failure_body(exc, "POST predict")}

    async def scores(self, instances: Any) -> Answer:
        """An ensemble member's answer: its predictions, with class probabilities where it has them."""
        answer = await self.answer(instances, True)
        if answer["status"] == 200 and isinstance(self.predictor, BuiltinPredictor):
            answer["body"]["classes"] = self.predictor.classes
        return answer

    def metadata(self) -> dict[str, Any]:
        return {"name": self.name, **self.predictor.metadata()}


@serve.deployment(name="split", ray_actor_options={"num_cpus": 0})
class Split:
    """A canary: each request goes to one variant, drawn by weight; the answer names it."""

    def __init__(self, members: list[Any], names: list[str], weights: list[float]) -> None:
        self.members, self.names, self.weights = members, names, weights

    async def answer(self, instances: Any, probabilities: bool) -> Answer:
        i = random.choices(range(len(self.members)), weights=self.weights)[0]
        out: Answer = await self.members[i].answer.remote(instances, probabilities)
        if out["status"] == 200:
            out["body"]["variant"] = self.names[i]
        return out

    async def metadata(self) -> dict[str, Any]:
        metas = await asyncio.gather(*(m.metadata.remote() for m in self.members))
        return {"variants": [{**m, "weight": w} for m, w in zip(metas, self.weights, strict=True)]}


@serve.deployment(name="ensemble", ray_actor_options={"num_cpus": 0})
class Ensemble:
    """The top-k of an experiment as one model: every member answers (in parallel, each its own deployment), then
    ``combine`` (mean: probabilities averaged; vote: the majority label)."""

    def __init__(self, members: list[Any], names: list[str], combine: str) -> None:
        self.members, self.names, self.combine = members, names, combine

    async def answer(self, instances: Any, probabilities: bool) -> Answer:
        outs = await asyncio.gather(*(m.scores.remote(instances) for m in self.members))
        failed = next((o for o in outs if o["status"] != 200), None)
        if failed is not None:
            return dict(failed)
        try:
            body = combine([o["body"] for o in outs], self.combine, probabilities)
        except ValueError as exc:
            return {"status": 500, "body": failure_body(exc, "POST predict (combining the ensemble)")}
        return {"status": 200, "body": body}

    async def metadata(self) -> dict[str, Any]:
        metas = await asyncio.gather(*(m.metadata.remote() for m in self.members))
        return {"combine": self.combine, "members": list(metas)}


@serve.deployment(name="router", ray_actor_options={"num_cpus": 0})
class Router:
    """The endpoint's HTTP ingress: checks the request once, then calls the named model's application."""

    async def __init__(self, options: dict[str, Any], table: str, namespace: str) -> None:  # type: ignore[misc]  # Serve awaits an async constructor
        import ray

        self.opts = options
        self.prefix = options["routePrefix"].rstrip("/")
        self.token: str | None = options.get("authToken")
        self.table = ray.get_actor(table, namespace=namespace)
        self.replica = serve.get_replica_context().replica_id.unique_id
        self.version, self.routes = await self.table.follow.remote(self.replica, -1, 0.0)
        self.handles: dict[str, Any] = {}
        self.follower = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            try:
                self.version, self.routes = await self.table.follow.remote(self.replica, self.version)
            except Exception:  # noqa: BLE001 - the table went with its serving process: keep the last routes
                await asyncio.sleep(1.0)

    def _handle(self, app: str) -> Any:
        if app not in self.handles:
            self.handles[app] = serve.get_app_handle(app)
        return self.handles[app]

    async def __call__(self, request: Request) -> JSONResponse:
        denied = unauthorized(request, self.token)
        if denied is not None:
            return denied
        path = local_path(request, self.prefix)
        parts = path.strip("/").split("/")
        if path == "/healthz" and request.method == "GET":
            return JSONResponse({"status": "ok", "models": sorted(self.routes)})
        if path == "/models" and request.method == "GET":
            return JSONResponse({"models": [r["listing"] for r in self.routes.values()]})
        if len(parts) == 3 and parts[0] == "models" and parts[2] in ("predict", "metadata"):
            route = self.routes.get(parts[1])
            if route is None:
                known = ", ".join(sorted(self.routes)) or "none"
                return error(404, f"no model '{parts[1]}' (served: {known}); GET /models lists them")
            return await self._model(request, route, parts[2])
        return error(
            404,
            f"no route {request.method} {request.url.path}: use POST /models/<name>/predict, "
            "GET /models/<name>/metadata, GET /models, GET /healthz",
        )

    async def _model(self, request: Request, route: dict[str, Any], action: str) -> JSONResponse:
        handle, listing = self._handle(route["app"]), route["listing"]
        if action == "metadata":
            if request.method != "GET":
                return error(405, "use GET for /metadata")
            try:
                meta = await handle.metadata.remote()
            except Exception as exc:  # noqa: BLE001 - the model's failure: a JSON 500
                return JSONResponse(failure_body(exc, "GET metadata"), status_code=500)
            return JSONResponse({**listing, **meta})
        if request.method != "POST":
            return error(405, "use POST for /predict")
        read = await read_instances(request, self.opts)
        if isinstance(read, JSONResponse):
            return read
        out: Answer = await handle.answer.remote(*read)
        if out["status"] == 200:
            out["body"].pop("classes", None)
            out["body"].update(model=listing["name"], generation=listing["generation"])
        return JSONResponse(out["body"], status_code=out["status"])


def build_model(definition: dict[str, Any]) -> Any:
    """The model's application: its ingress answers ``answer(instances, probabilities)`` and ``metadata()``."""
    settings = {k: definition[k] for k in ("predictorPath", "framework", "maxBatchSize", "batchWaitTimeoutS")}
    each = replica_options(definition["replicas"], definition["cpu"], definition["gpu"])
    members = [
        Checkpoint.options(name=f"checkpoint-{m['name']}", **each).bind(m, settings)  # type: ignore[attr-defined]
        for m in definition["members"]
    ]
    names = [m["name"] for m in definition["members"]]
    if definition["kind"] == "variants":
        return Split.bind(  # type: ignore[attr-defined]
            members, names, [float(m["weight"]) for m in definition["members"]]
        )
    if definition["kind"] == "ensemble":
        return Ensemble.bind(members, names, definition["combine"])  # type: ignore[attr-defined]
    return members[0]


def build_router(options: dict[str, Any], table: str, namespace: str) -> Any:
    return Router.bind(options, table, namespace)  # type: ignore[attr-defined]
