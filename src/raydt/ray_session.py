"""Connect to a Ray cluster (or start an embedded one) and describe it. Ray is imported lazily."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from raydt.clusters import detect
from raydt.errors import RayConnectionError, SpecError, SpecIssue
from raydt.ray_config import FAST_TRAIN_ENV, scoped_env, token_auth_env

CONNECT_TIMEOUT_S = 3.0
#: ``config.address: local``: a fresh embedded Ray even when a cluster runs (Ray's own meaning of "local").
LOCAL = "local"
#: The connection ``connect`` opened: its address and where it came from (``clusterStatus.address/source``).
_CONNECTED: dict[str, Any] = {}


def check_reachable(address: str) -> None:
    """Fail within seconds when ``address`` has no listener (ray.init would otherwise wait long)."""
    if address == "auto" or address.startswith("local"):
        return
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    host = parsed.hostname
    try:
        port = parsed.port or (10001 if parsed.scheme == "ray" else 6379)
    except ValueError as exc:
        raise RayConnectionError(f"cannot parse Ray address '{address}': {exc}") from None
    if not host:
        raise RayConnectionError(f"cannot parse Ray address '{address}': no host")
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise RayConnectionError(
            f"no Ray cluster answers at {host}:{port} ({exc.strerror or exc})",
        ) from None


def check_ray_init(extra: dict[str, Any]) -> str:
    """Raise ``SpecError`` for a ``config.rayInit`` key that is no argument of ``ray.init()`` (imports Ray, starts
    nothing); what was checked, for doctor."""
    import inspect

    import ray

    from raydt.ray_compat import MEMORY_KWARG

    valid = set(inspect.signature(ray.init).parameters) - {"address", "kwargs"} | {MEMORY_KWARG}
    unknown = sorted(set(extra) - valid)
    if unknown:
        from raydt.suggest import closest

        raise SpecError(
            [
                SpecIssue(f"config.rayInit.{key}", "is not an argument of ray.init()", key, closest(key, sorted(valid)))
                for key in unknown
            ]
        )
    return f"config.rayInit: {', '.join(sorted(extra)) or 'nothing'} (arguments of ray.init())"


def _init_kwargs(
    address: str | None, extra: dict[str, Any], dashboard: bool, env_vars: dict[str, str], train: bool = True
) -> dict[str, Any]:
    check_ray_init(extra)
    kwargs: dict[str, Any] = {
        "logging_level": logging.WARNING,
        "log_to_driver": True,
        "configure_logging": True,
    }
    if address is None or address == LOCAL:
        kwargs["include_dashboard"] = dashboard
    if address is not None:
        kwargs["address"] = address  # "local": a fresh embedded Ray, never an existing cluster
    kwargs.update(extra)
    if not train and not env_vars:  # no job-wide runtime env: each worker starts ~0.7 s sooner (measured here)
        return kwargs
    runtime_env = dict(kwargs.get("runtime_env") or {})
    base = FAST_TRAIN_ENV if train else {}
    runtime_env["env_vars"] = {**base, **env_vars, **dict(runtime_env.get("env_vars") or {})}
    kwargs["runtime_env"] = runtime_env
    return kwargs


@contextmanager
def auth_env(address: str | None) -> Iterator[dict[str, Any] | None]:
    """Around a connection to the lasting cluster: token auth on, with the cluster's token file (the
    token is never printed; only its file is named). Yields the record, or None for any other address."""
    rec = detect.owner(address)
    if rec is None:
        yield None
        return
    with scoped_env(token_auth_env(str(rec["tokenFile"]))):
        yield rec


@contextmanager
def connect(
    address: str | None,
    ray_init: dict[str, Any] | None = None,
    *,
    dashboard: bool = True,
    env_vars: dict[str, str] | None = None,
    warm: tuple[str, ...] = (),
    train: bool = True,
) -> Iterator[None]:
    """Connect to ``address`` (or start an embedded Ray) for the duration of the block.

    ``env_vars`` reach every Ray worker of the job (e.g. a framework's switches). The modules in
    ``warm`` (the driver's own heavy imports: the trainer class, Tune, the searcher) are imported in a
    background thread while ``ray.init`` mostly waits on Ray's processes to come up. ``train``: the job's
    workers get Ray Train's settings (``ray_config.FAST_TRAIN_ENV``) through a job-wide runtime env; a run that
    trains nothing (predict) goes without one, and its workers start sooner.

    If Ray is already initialised in this process (the Python API inside a Ray program), that
    connection is used and left open.
    """
    import ray

    if ray.is_initialized():
        yield
        return
    if address is None:  # no address: the lasting cluster when it runs (plan.address); a dead one is an error
        detect.refuse_dead()
    else:
        check_reachable(address)
    kwargs = _init_kwargs(address, ray_init or {}, dashboard, env_vars or {}, train)
    # FAST_TRAIN_ENV (unless the user set it) and the lasting cluster's token: for this connection only
    with scoped_env(FAST_TRAIN_ENV, keep_set=True), auth_env(address) as lasting:
        if lasting is not None:
            from raydt import ray_compat

            ray_compat.reload_auth_settings()  # the token of this cluster, for this connection
            if lasting.get("nodeIp"):
                kwargs = ray_compat.on_node(kwargs, lasting["nodeIp"])  # the driver joins through the head's raylet
        _CONNECTED.update(address=address, source=_source(address, lasting))
        importer = _warm(warm)
        try:
            ray.init(**kwargs)
        except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
            where = address or "a new local instance"
            raise RayConnectionError(f"could not connect to Ray at {where}: {exc}") from None
        finally:
            importer.join()
        try:
            yield
        finally:
            from raydt import ray_compat

            ray_compat.stop_monitor()  # an embedded Ray's shutdown would wait a second on it for nothing
            ray.shutdown()
            _CONNECTED.clear()


def code_env(folders: list[str]) -> dict[str, str]:
    """``PYTHONPATH`` for the workers: the folders of the user's code files first, so that a trainer's
    ``import helper`` of a sibling module works on every worker as under ``python trainer.py`` (Ray itself adds
    only the driver's working directory). On a node where a folder does not exist it is skipped by Python;
    for such clusters ``raydt submit`` ships the folder."""
    if not folders:
        return {}
    return {"PYTHONPATH": os.pathsep.join([*folders, *filter(None, [os.environ.get("PYTHONPATH")])])}


def describe(address: str | None) -> str:
    """Where ``connect(address)`` goes, for the live view."""
    if address is None:
        return "an embedded local Ray"
    if address == LOCAL:
        return "a fresh embedded Ray (config.address: local)"
    if detect.owner(address) is not None:
        return f"the cluster `raydt cluster up` started at {address}"
    return address


def _source(address: str | None, lasting: dict[str, Any] | None) -> str:
    """``clusterStatus.source``: where the cluster came from."""
    if lasting is not None:
        return detect.SOURCE_UP
    return "embedded" if address is None or address == LOCAL else "address"


def _warm(modules: tuple[str, ...]) -> threading.Thread:
    """Import ``modules`` in a daemon thread; a module that fails is imported (and fails) again later,
    where its error is reported."""
    import importlib

    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the caller's own import raises it with context
                import traceback

                print(f"[raydt] warm import of {name} failed:", file=sys.stderr)
                traceback.print_exc()  # into the run's log file: a second import may fail differently

    thread = threading.Thread(target=run, name="raydt-warm-imports", daemon=True)
    thread.start()
    return thread


#: Node types Ray's monitor invents for clusters it only observes (no autoscaler): "node_" + the node id.
_READONLY_TYPE = re.compile(r"^node_[0-9a-f]{40,}$")


def autoscaler_node_types(report_json: str | bytes | None) -> list[str] | None:
    """The node types an autoscaler manages, from the v1 monitor's status in the GCS; None: no autoscaler.

    Ray's monitor runs on every head node. Without an autoscaling config it uses a read-only provider whose
    node types are ``node_<id>``; a real autoscaler (cluster launcher, KubeRay) reports its configured types.
    """
    if not report_json:
        return None
    try:
        report = json.loads(report_json).get("autoscaler_report") or {}
    except (ValueError, AttributeError):
        return None
    types = {str(t) for t in (report.get("node_type_mapping") or {}).values()}
    types |= {str(t) for t in (report.get("active_nodes") or {})}
    types |= {str(row[1]) for row in report.get("pending_nodes") or [] if len(row) > 1}
    types |= {str(t) for t in (report.get("pending_launches") or {})}
    managed = sorted(t for t in types if not _READONLY_TYPE.match(t))
    return managed or None


def autoscaler(declared: bool | None = None) -> dict[str, Any] | None:
    """``clusterStatus.autoscaler``: whether (and how) the cluster can add nodes; None when it cannot.

    ``declared`` (``config.autoscaling``) overrides detection.
    """
    if declared is False:
        return None
    found: dict[str, Any] | None = None
    try:
        from raydt import ray_compat

        types = autoscaler_node_types(ray_compat.autoscaler_v1_report())
        if types is not None:
            found = {"version": "v1", "nodeTypes": types}
        elif ray_compat.autoscaler_v2_running():
            found = {"version": "v2", "nodeTypes": []}
    except Exception:  # noqa: BLE001 - detection is best effort; internals differ across Ray versions
        found = None
    if found is None and declared:
        found = {"version": "declared", "nodeTypes": []}
    if found is not None:
        found["source"] = "spec" if declared else "detected"
    return found


def custom_resources(res: dict[str, Any]) -> dict[str, Any]:
    """A node's resources beyond CPU, GPU and memory, less the ones Ray adds itself (node IP, accelerator type)."""
    builtin = ("CPU", "GPU", "memory", "object_store_memory")
    return {k: v for k, v in res.items() if k not in builtin and not k.startswith(("node:", "accelerator_type:"))}


def cluster_status(autoscaling: bool | None = None) -> dict[str, Any]:
    """``clusterStatus``: the seed's three numbers plus available resources, per-node detail and the
    autoscaler (``autoscaling``: ``config.autoscaling``, None to detect)."""
    import ray

    from raydt import ray_compat

    total = ray.cluster_resources()
    available = ray.available_resources()
    nodes = []
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        res = node.get("Resources", {})
        nodes.append(
            {
                "nodeId": node.get("NodeID"),
                "address": node.get("NodeManagerAddress"),
                "isHead": ray_compat.HEAD_RESOURCE in res,
                "cpu": float(res.get("CPU", 0.0)),
                "gpu": float(res.get("GPU", 0.0)),
                "memoryBytes": int(res.get("memory", 0)),
                "objectStoreMemoryBytes": int(res.get("object_store_memory", 0)),
                "customResources": custom_resources(res),
            }
        )
    return {
        "numNodes": len(nodes),
        "totalCpu": float(total.get("CPU", 0.0)),
        "totalGpu": float(total.get("GPU", 0.0)),
        "availableCpu": float(available.get("CPU", 0.0)),
        "availableGpu": float(available.get("GPU", 0.0)),
        "totalMemoryBytes": int(total.get("memory", 0)),
        "rayVersion": ray.__version__,
        "nodes": nodes,
        "autoscaler": autoscaler(autoscaling),
        **connection(),
    }


def connection() -> dict[str, Any]:
    """``clusterStatus.address`` and ``.source`` of the connection ``connect`` opened (none: nothing)."""
    if not _CONNECTED:
        return {}
    address = _CONNECTED.get("address")
    return {"address": address if address not in (None, LOCAL) else "embedded", "source": _CONNECTED["source"]}
