"""Check what a run asks for against what the cluster has, before anything is scheduled.

Ray Train retries an unschedulable worker group forever; a spec that can never fit must fail fast.
"""

from __future__ import annotations

from typing import Any

from raydt.errors import InfeasibleResourcesError
from raydt.plan import WorkerPlan

_NAMES = {"CPU": "cpu", "GPU": "gpu", "memory": "memoryBytes"}


def check_workers(workers: WorkerPlan, status: dict[str, Any]) -> None:
    """Raise ``InfeasibleResourcesError`` if ``workers`` can never be placed on the cluster's nodes."""
    nodes = status["nodes"]
    need = {k: v for k, v in workers.resources.items() if v > 0}
    request = f"{workers.num_workers} worker(s) x {_fmt(need)}"
    for key, amount in need.items():
        largest = max((_node_amount(n, key) for n in nodes), default=0.0)
        if largest < amount:
            total = sum(_node_amount(n, key) for n in nodes)
            fix = {
                "GPU": "Set config.useGpu=false or add GPU nodes.",
                "CPU": f"Lower config.resourcesPerWorker.cpu to at most {largest:g}.",
                "memory": f"Lower config.resourcesPerWorker.memoryGb to at most {largest / 1e9:.2f}.",
            }.get(key, f"Add nodes with the custom resource '{key}' (ray start --resources=...), or drop it.")
            raise InfeasibleResourcesError(
                f"{request} needs {workers.total().get(key, 0):g} {key} with {amount:g} on one node; "
                f"the cluster has {total:g} {key} in all, at most {largest:g} on a node",
                hint=fix,
            )
    fits = sum(_bundles_on(n, need) for n in nodes)
    if fits < workers.num_workers:
        raise InfeasibleResourcesError(
            f"{request} needs {_fmt(workers.total())}; the cluster's nodes can hold only {fits} such worker(s)",
            hint=f"Set config.numWorkers to at most {fits}, lower config.resourcesPerWorker, or add nodes.",
        )


def admit_models(models: list[tuple[str, int, dict[str, float]]], status: dict[str, Any]) -> str | None:
    """Several served models, each (name, replicas it starts with, resources per replica): each replica must fit on
    a node and all of them on the cluster. On an autoscaling cluster what does not fit now is a warning (returned)."""
    nodes = status["nodes"]
    totals: dict[str, float] = {}
    problem = None
    for name, count, resources in models:
        need = {k: v for k, v in resources.items() if v > 0}
        for key, amount in need.items():
            totals[key] = totals.get(key, 0.0) + amount * count
            largest = max((_node_amount(n, key) for n in nodes), default=0.0)
            if largest < amount and problem is None:
                problem = (
                    f"a replica of model '{name}' needs {amount:g} {key} on one node; the largest node has {largest:g}",
                    f"Lower serveConfig.models[{name}].resourcesPerReplica.{key.lower()} to at most {largest:g}.",
                )
    for key, total in totals.items():
        have = sum(_node_amount(n, key) for n in nodes)
        if have + 1e-9 < total and problem is None:
            asked = ", ".join(f"{name}: {count} x {_fmt(res)}" for name, count, res in models)
            problem = (
                f"the models' replicas need {total:g} {key} in all ({asked}); the cluster has {have:g}",
                "Lower replicas (or minReplicas) or resourcesPerReplica of some models (fractions such as cpu 0.5 "
                "are allowed), or add nodes.",
            )
    if problem is None:
        return None
    if status.get("autoscaler"):
        return f"the current nodes cannot hold every model: {problem[0]}; the cluster autoscales: Serve waits for nodes"
    raise InfeasibleResourcesError(problem[0], hint=problem[1])


def admit(workers: WorkerPlan, status: dict[str, Any], pending_timeout_s: float) -> str | None:
    """``check_workers``, except that on an autoscaling cluster a request the current nodes cannot hold
    is a warning (returned) and the run waits for new nodes up to ``pending_timeout_s``."""
    try:
        check_workers(workers, status)
    except InfeasibleResourcesError as err:
        scaler = status.get("autoscaler")
        if not scaler:
            raise
        types = f" (node types: {', '.join(scaler['nodeTypes'])})" if scaler.get("nodeTypes") else ""
        return (
            f"the current nodes cannot hold this run: {err.message}. The cluster autoscales{types}, so raydt "
            f"waits up to runConfig.pendingTimeoutS ({pending_timeout_s:g}s) for the autoscaler to add nodes"
        )
    return None


def max_workers(resources: dict[str, float], status: dict[str, Any]) -> int:
    """How many workers with ``resources`` the cluster can hold at once."""
    need = {k: v for k, v in resources.items() if v > 0}
    return sum(_bundles_on(n, need) for n in status["nodes"])


def _node_amount(node: dict[str, Any], key: str) -> float:
    return float(node.get(_NAMES.get(key, key), node.get("customResources", {}).get(key, 0.0)))


def _bundles_on(node: dict[str, Any], need: dict[str, float]) -> int:
    if not need:
        return 0
    return int(min(_node_amount(node, k) // v for k, v in need.items()))


def _fmt(resources: dict[str, float]) -> str:
    return "{" + ", ".join(f"{k}: {v:g}" for k, v in resources.items()) + "}"


def check_storage(storage_path: str, shared: bool, status: dict[str, Any]) -> None:
    """On a multi-node (or autoscaling) cluster every node must reach the storage path: a local path is an
    error, unless every node is a raylet ``raydt cluster up`` started on this machine (they share its disk)."""
    from raydt.clusters import detect

    if (status["numNodes"] <= 1 and not status.get("autoscaler")) or shared or "://" in storage_path:
        return
    if detect.shares_disk(status):
        return
    nodes = (
        f"the cluster has {status['numNodes']} nodes"
        if status["numNodes"] > 1
        else "the cluster autoscales (nodes it adds run trials and workers too)"
    )
    from raydt.errors import SpecError, SpecIssue

    raise SpecError(
        [
            SpecIssue(
                "runConfig.storagePath",
                f"is a local path, but {nodes}: Ray Train and Tune need storage every node can reach",
                storage_path,
                "Use a URI (s3://bucket/path, gs://..., abfs://...) or a shared filesystem mounted on every "
                "node and set runConfig.sharedStorage: true.",
            )
        ]
    )


def check_serving(checkpoint_dir: str, gpu: float) -> None:
    """Before a built-in checkpoint is deployed: the framework that wrote it (its ``raydt_meta.json``) must have a
    predictor, and GPU replicas need a framework that declares GPU support. A checkpoint without raydt's
    metadata is left to the predictor, which says what it lacks when it loads."""
    from raydt.errors import SpecError, SpecIssue
    from raydt.frameworks.checkpoint_format import META_FILE, read_meta
    from raydt.registry import FRAMEWORKS

    meta = read_meta(checkpoint_dir)
    info = FRAMEWORKS.get(str(meta.get("framework"))) if meta else None
    if info is None:
        return
    where = f"the checkpoint's framework ('{info.name}', in {META_FILE})"
    issues = []
    if not info.serves_builtin:
        issues.append(
            SpecIssue(
                "serveConfig.predictorPath",
                f"is required: {where} has no built-in predictor",
                None,
                "Give serveConfig.predictorPath (your predictor class).",
            )
        )
    if gpu > 0 and not info.supports_gpu:
        issues.append(
            SpecIssue(
                "serveConfig.resourcesPerReplica.gpu",
                f"must be 0: {where} declares no GPU support",
                gpu,
                f"Set serveConfig.resourcesPerReplica.gpu to 0: raydt's {info.name} adapter runs on CPU.",
            )
        )
    if issues:
        raise SpecError(issues)
