"""``mode: serve`` with ``serveConfig.models``: several models behind one endpoint, each replaceable while traffic
flows (``raydt serve update``).

Each model generation is a Ray Serve application of its own; the router (``serving.models_app``) follows a route
table. An update deploys the new generation beside the old one, waits until Serve reports it RUNNING, points the
table at it, waits until every router replica applies the new table, then deletes the old generation (Serve lets
its in-flight requests finish): new replicas start before old ones drain, and no request is dropped.
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

from raydt import plan, preflight, ray_session
from raydt.errors import RaydtError, RunError
from raydt.plan.serving import ModelPlan
from raydt.progress import ProgressView
from raydt.results import Document
from raydt.results.outputs import ServedModelInfo
from raydt.runners import Handoff
from raydt.runners.serve import (
    bind_warnings,
    check_port_free,
    deploy_error,
    endpoint_url,
    options,
    wait_for_stop,
    wait_healthy,
)
from raydt.serving import catalog, control, routes, state
from raydt.spec.loader import LoadedSpec

#: how long an update waits for the router replicas to apply the new routes
APPLY_TIMEOUT_S = 30.0


class Endpoint:
    """The running endpoint: the models' plans and definitions, the route table, and how to change one model."""

    def __init__(self, loaded: LoadedSpec, view: ProgressView, url: str, table: Any) -> None:
        sc = loaded.spec.serve_config
        assert sc is not None
        self.loaded, self.view, self.url, self.table = loaded, view, url, table
        self.settings = {k: v for k, v in options(sc, "").items() if k in ("maxBatchSize", "batchWaitTimeoutS")}
        self.plans: dict[str, ModelPlan] = {}
        self.defs: dict[str, dict[str, Any]] = {}

    def fetch(self, checkpoint: str | None, experiment: str | None) -> str:
        from raydt.serving.loading import model_checkpoint

        found = model_checkpoint(self.loaded, checkpoint, experiment, self.view.event)
        return os.path.abspath(os.path.expanduser(found))

    def define(self, model: ModelPlan, generation: int) -> dict[str, Any]:
        return catalog.definition(model, generation, self.settings, self.fetch)

    def deploy(self, definition: dict[str, Any]) -> None:
        """Start the model's generation and wait until Serve reports it RUNNING (its replicas loaded the model)."""
        from ray import serve

        from raydt.serving.models_app import build_model

        self.view.event(f"serve: model '{definition['name']}' generation {definition['generation']}")
        try:
            serve.run(build_model(definition), name=definition["app"], route_prefix=None, blocking=False)
        except RuntimeError as exc:
            serve.delete(definition["app"])
            raise deploy_error(exc, f"model '{definition['name']}'") from None

    def publish(self) -> int:
        import ray

        table = {n: {"app": d["app"], "listing": catalog.listing(d, self.url)} for n, d in self.defs.items()}
        return int(ray.get(self.table.publish.remote(table)))

    def update(self, request: dict[str, Any]) -> dict[str, Any]:
        """``raydt serve update``: the model's next generation beside the current one, then the switch, then the
        old one drained and deleted. The answer is the result document."""
        import ray
        from ray import serve

        name = str(request.get("model"))
        if name not in self.plans:
            raise RunError(f"no model '{name}' is served here (served: {', '.join(self.plans)})")
        old = self.defs[name]
        given = (request.get("checkpoint"), request.get("experiment"), request.get("variant"))
        model = catalog.replaced(self.plans[name], *given)
        new = self.define(model, old["generation"] + 1)
        self.deploy(new)
        self.plans[name], self.defs[name] = model, new
        version = self.publish()
        deadline = time.monotonic() + APPLY_TIMEOUT_S
        while not ray.get(self.table.applied_everywhere.remote(version)):
            if time.monotonic() > deadline:
                raise RunError(f"the router did not apply the new routes within {APPLY_TIMEOUT_S:g}s")
            time.sleep(0.1)
        serve.delete(old["app"])  # Serve drains the old replicas: their requests in flight finish
        self.view.event(f"serve: model '{name}' now answers from generation {new['generation']}")
        listing = ServedModelInfo.model_validate(catalog.listing(new, self.url))
        return Document(mode="serve", endpoint=self.url, updated=listing).dump()

    def listings(self) -> list[dict[str, Any]]:
        return [catalog.listing(d, self.url) for d in self.defs.values()]


def run_models(loaded: LoadedSpec, view: ProgressView, handoff: Handoff | None = None) -> dict[str, Any]:
    """Deploy every model of ``serveConfig.models`` and the router, hand the result over once the endpoint answers,
    then serve (and apply updates) until Ctrl-C / SIGTERM."""
    import ray
    from ray import serve

    from raydt.plan import serving
    from raydt.serving.models_app import build_router

    sc = loaded.spec.serve_config
    assert sc is not None
    opts = options(sc, "")
    warnings = bind_warnings(sc.host, opts["authToken"])
    address = plan.address(loaded)
    if address is None and not ray.is_initialized():
        check_port_free(sc.host, sc.port)
    url = endpoint_url(sc)
    plans = serving.models(loaded)
    with ray_session.connect(address, loaded.spec.config.ray_init, dashboard=False, warm=("ray.serve",)):
        status = ray_session.cluster_status(loaded.spec.config.autoscaling)
        needs = [(m.name, _starting(m), {"CPU": m.cpu, "GPU": m.gpu}) for m in plans]
        waiting = preflight.admit_models(needs, status)
        if waiting:
            warnings.append(waiting)
        table = (
            ray.remote(routes.RouteTable)
            .options(name=routes.actor_name(sc.port), namespace=routes.NAMESPACE, num_cpus=0)
            .remote()
        )
        endpoint = Endpoint(loaded, view, url, table)
        serve.start(http_options={"host": sc.host, "port": sc.port})
        try:
            for model in plans:
                endpoint.plans[model.name] = model
                endpoint.defs[model.name] = endpoint.define(model, 1)
                endpoint.deploy(endpoint.defs[model.name])
            endpoint.publish()
            router = build_router(opts, routes.actor_name(sc.port), routes.NAMESPACE)
            serve.run(router, name=catalog.ROUTER_APP, route_prefix=sc.route_prefix, blocking=False)
            wait_healthy(url, opts["authToken"])
        except BaseException:
            serve.shutdown()
            raise
        out = _result(endpoint, status, opts, warnings)
        _serve_until_stopped(loaded, endpoint, out, handoff or Handoff())
        serve.shutdown()
        view.event("serve: shut down")
    return out


def _starting(model: ModelPlan) -> int:
    """The replicas a model starts with (per checkpoint, times its checkpoints)."""
    each = model.replicas if isinstance(model.replicas, int) else max(1, int(model.replicas["min"]))
    members = model.top_k if model.kind == "ensemble" else len(model.sources)
    return each * members


def _result(endpoint: Endpoint, status: dict[str, Any], opts: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    url = endpoint.url
    out: dict[str, Any] = {
        **Document(mode="serve").dump(),
        "clusterStatus": status,
        "endpoint": url,
        "serve": {
            "predict": f"{url}/models/<name>/predict",
            "healthz": f"{url}/healthz",
            "metadata": f"{url}/models",
            "numReplicas": opts["numReplicas"],
            "resourcesPerReplica": {"CPU": float(opts["cpu"]), "GPU": float(opts["gpu"])},
            "maxBatchSize": opts["maxBatchSize"],
            "auth": bool(opts["authToken"]),
            "models": endpoint.listings(),
        },
    }
    if warnings:
        out["warnings"] = warnings
    return out


def _serve_until_stopped(loaded: LoadedSpec, endpoint: Endpoint, out: dict[str, Any], handoff: Handoff) -> None:
    """Record the run for ``raydt serve status``, hand the result over, then serve until stopped, taking
    ``raydt serve update`` requests meanwhile."""
    from raydt.results import error_result
    from raydt.runners.serve import replica_states

    sc = loaded.spec.serve_config
    assert sc is not None
    live = {"pid": os.getpid(), "port": sc.port, "endpoint": endpoint.url, "mode": loaded.spec.mode}
    live.update({"logFile": handoff.log_file, "models": endpoint.listings()})
    state_file = state.record(sc.port, live)

    ticks = itertools.count()

    def tick() -> None:
        for key, request in control.pending(sc.port):
            try:
                reply = endpoint.update(request)
            except RaydtError as err:
                reply = error_result(err)
            control.answer(sc.port, key, reply)
        if next(ticks) % 4 == 0:  # every 2 s: the record raydt serve status reads
            state.record(sc.port, {**live, "models": endpoint.listings(), "replicas": replica_states(all_apps=True)})

    try:
        if handoff.ready is not None:
            handoff.ready(out)
        endpoint.view.event(f"serving {len(endpoint.defs)} model(s) at {endpoint.url}/models (Ctrl-C to stop)")
        wait_for_stop(tick, every=control.POLL_S)
    finally:
        state_file.unlink(missing_ok=True)
