"""``mode: serve``: deploy a checkpoint with Ray Serve and keep it up until interrupted."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from raydt import plan, preflight, ray_session
from raydt.errors import PortInUseError, RunError
from raydt.progress import ProgressView
from raydt.results import Document
from raydt.runners import Handoff
from raydt.serving import state
from raydt.spec.loader import LoadedSpec
from raydt.spec.model import ReplicaRange, ServeConfig

APP = "raydt"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
TOKEN_ENV = "RAYDT_SERVE_TOKEN"


def options(sc: ServeConfig, checkpoint: str, predictor: str | None = None) -> dict[str, Any]:
    """What each replica is built with (plain JSON-ready values). ``predictor`` is ``plan.serve``'s predictorPath,
    its file resolved as validation resolved it (the current directory, then the spec's folder): a replica runs
    in a process of its own and must not depend on its working directory."""
    replicas: Any = (
        sc.num_replicas.model_dump(by_alias=True) if isinstance(sc.num_replicas, ReplicaRange) else sc.num_replicas
    )
    return {
        "checkpoint": checkpoint,
        "framework": sc.framework,
        "predictorPath": predictor,
        "numReplicas": replicas,
        "cpu": sc.resources_per_replica.cpu,
        "gpu": sc.resources_per_replica.gpu,
        "maxBatchSize": sc.max_batch_size,
        "batchWaitTimeoutS": sc.batch_wait_timeout_s,
        "maxInstances": sc.max_instances,
        "maxRequestBytes": sc.max_request_bytes,
        "routePrefix": sc.route_prefix,
        "authToken": sc.auth_token or os.environ.get(TOKEN_ENV) or None,
    }


def run_serve(loaded: LoadedSpec, view: ProgressView, handoff: Handoff | None = None) -> dict[str, Any]:
    """``mode: serve``: deploy the given checkpoint (or an experiment's best) until Ctrl-C / SIGTERM."""
    from raydt.serving.loading import model_checkpoint

    assert loaded.spec.serve_config is not None  # checked by validation
    served = plan.serve(loaded)  # serveConfig's paths, resolved
    checkpoint = model_checkpoint(loaded, served.checkpoint_path, served.experiment_path, view.event)
    base = Document(mode="serve").dump()
    return serve_checkpoint(loaded, view, checkpoint, base, handoff)


def serve_checkpoint(
    loaded: LoadedSpec, view: ProgressView, checkpoint: str, base: dict[str, Any], handoff: Handoff | None = None
) -> dict[str, Any]:
    """Deploy ``checkpoint``, hand ``base`` plus the endpoint over once it answers, then serve until
    Ctrl-C / SIGTERM (a train or tune run with serveConfig ends here too)."""
    import ray

    sc = loaded.spec.serve_config
    assert sc is not None
    checkpoint = os.path.abspath(os.path.expanduser(checkpoint))
    opts = options(sc, checkpoint, plan.serve(loaded).predictor)
    if not opts["predictorPath"]:  # the built-in predictor: what the checkpoint's framework declares it can do
        preflight.check_serving(checkpoint, float(opts["gpu"]))
    warnings = bind_warnings(sc.host, opts["authToken"])
    caller_owns_ray = ray.is_initialized()
    address = plan.address(loaded)
    if address is None and not caller_owns_ray:
        check_port_free(sc.host, sc.port)
    view.event(
        f"serve: {checkpoint} with {opts['numReplicas']} replica(s) x {{CPU: {opts['cpu']:g}, GPU: {opts['gpu']:g}}}"
    )
    with ray_session.connect(address, loaded.spec.config.ray_init, dashboard=False, warm=("ray.serve",)):
        status = ray_session.cluster_status(loaded.spec.config.autoscaling)
        count = opts["numReplicas"]["min"] if isinstance(opts["numReplicas"], dict) else opts["numReplicas"]
        resources = {"CPU": float(opts["cpu"]), "GPU": float(opts["gpu"])}
        waiting = preflight.admit(plan.WorkerPlan(max(1, count), opts["gpu"] > 0, resources), status, 600)
        if waiting:
            warnings.append(waiting)
        url = _deploy(sc, opts)
        out = served(base, checkpoint, status, url, opts, warnings)
        out["serve"]["replicas"] = replica_states()
        handoff = handoff or Handoff()
        if caller_owns_ray and handoff.ready is None:
            return out  # the Python API inside the caller's Ray: the deployment lives on there
        live = {"pid": os.getpid(), "port": sc.port, "endpoint": url, "mode": loaded.spec.mode}
        live.update({"checkpointPath": checkpoint, "logFile": handoff.log_file, "replicas": out["serve"]["replicas"]})
        state_file = state.record(sc.port, live)
        try:
            if handoff.ready is not None:
                handoff.ready(out)
            view.event(f"serving at {url} (Ctrl-C to stop)")
            wait_for_stop(lambda: state.record(sc.port, {**live, "replicas": replica_states()}))
        finally:
            state_file.unlink(missing_ok=True)
        from ray import serve

        serve.shutdown()
        view.event("serve: shut down")
    return out


def served(
    base: dict[str, Any], checkpoint: str, status: dict[str, Any], url: str, opts: dict[str, Any], warnings: list[str]
) -> dict[str, Any]:
    """The result once the endpoint answers: ``base`` (the empty skeleton, or the result of the train or tune
    run whose best checkpoint is served) plus the checkpoint, the URLs and the replicas' settings."""
    out: dict[str, Any] = {
        **base,
        "checkpointPath": checkpoint,
        "clusterStatus": base.get("clusterStatus", status),
        "endpoint": url,
        "serve": {
            "predict": f"{url}/predict",
            "healthz": f"{url}/healthz",
            "metadata": f"{url}/metadata",
            "numReplicas": opts["numReplicas"],
            "resourcesPerReplica": {"CPU": float(opts["cpu"]), "GPU": float(opts["gpu"])},
            "maxBatchSize": opts["maxBatchSize"],
            "auth": bool(opts["authToken"]),
        },
    }
    if warnings:
        out["warnings"] = [*base.get("warnings", []), *warnings]
    return out


def replica_states(all_apps: bool = False) -> dict[str, int]:
    """Ray Serve's own count of the model's replicas by state (RUNNING, STARTING, ...); ``all_apps``: of every
    application (several models: the router and each model's)."""
    from collections import Counter

    from ray import serve

    apps = serve.status().applications
    chosen = list(apps.values()) if all_apps else [apps[APP]] if APP in apps else []
    counts: Counter[str] = Counter()
    for app in chosen:
        for d in app.deployments.values():
            for k, n in d.replica_states.items():
                counts[str(getattr(k, "value", k))] += int(n)
    return dict(counts)


def bind_warnings(host: str, token: str | None) -> list[str]:
    """A non-loopback bind exposes the model to the network: say so, and whether a token guards it."""
    if host in LOOPBACK:
        return []
    guard = "requests need the bearer token" if token else f"set serveConfig.authToken (or {TOKEN_ENV})"
    return [f"serving on {host}, reachable from other machines: Ray Serve has no authentication of its own; {guard}"]


def check_port_free(host: str, port: int) -> None:
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the HTTP server will
            probe.bind((host, port))
    except OSError as exc:
        raise PortInUseError(
            f"cannot serve on {host}:{port}: {exc.strerror or exc}",
            hint="Another process holds the port (an earlier raydt serve?); stop it, or set serveConfig.port.",
        ) from None


def _deploy(sc: ServeConfig, opts: dict[str, Any]) -> str:
    from ray import serve

    from raydt.serving.app import build

    serve.start(http_options={"host": sc.host, "port": sc.port})
    try:
        serve.run(build(opts), name=APP, route_prefix=sc.route_prefix, blocking=False)
    except RuntimeError as exc:
        serve.shutdown()
        raise deploy_error(exc, "the model") from None
    url = endpoint_url(sc)
    wait_healthy(url, opts["authToken"])
    return url


def deploy_error(exc: RuntimeError, what: str) -> RunError:
    """Serve's failure to deploy (a replica raised while loading) as raydt's error, its traceback's tail kept."""
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    err = RunError(
        f"{what} could not be deployed: {lines[-1] if lines else exc}",
        hint="A replica failed to load the checkpoint; see error.details and the log file.",
    )
    err.details = {"traceback": lines[-12:]}
    return err


def endpoint_url(sc: ServeConfig) -> str:
    """The base URL clients use (a wildcard bind is reached on loopback)."""
    host = "127.0.0.1" if sc.host in ("0.0.0.0", "::") else sc.host
    return f"http://{host}:{sc.port}{sc.route_prefix.rstrip('/')}"


def wait_healthy(url: str, token: str | None, timeout: float = 60.0) -> None:
    request = urllib.request.Request(f"{url}/healthz")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RunError(f"the endpoint {url} did not answer within {timeout:g}s")
        time.sleep(0.2)


def wait_for_stop(tick: Callable[[], Any], every: float = 2.0) -> None:
    """Block until SIGINT (Ctrl-C) or SIGTERM, calling ``tick`` every ``every`` seconds meanwhile."""
    stop = threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):  # explicit: a background job may inherit SIGINT ignored
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(every):
            try:
                tick()
            except Exception:  # noqa: BLE001 - a status refresh never ends the serving
                pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
