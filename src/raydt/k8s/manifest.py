"""KubeRay documents from the resolved pieces: the ConfigMap with the pods' spec and code, and a RayJob (whose cluster
runs ``python -m raydt run /raydt/spec.json`` once, then goes) or a RayCluster (which stays; submit the same command).

Every pod mounts the ConfigMap at ``/raydt``: the volume's ``items`` put each key at its path under ``raydt/``, and the
mount takes that folder as its ``subPath``. A subPath is a plain folder: a ConfigMap volume's root holds symlinks into
a timestamped folder that differs per pod, and paths resolved through them on the head (the workers' ``PYTHONPATH``,
the code's files) would not exist on the workers.

Plain dicts in the shape of KubeRay's ``ray.io/v1`` CRDs (the tests validate them against KubeRay's own schemas).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import yaml

from raydt import __version__
from raydt.k8s import idle
from raydt.k8s.options import RAY_VERSION, Options
from raydt.k8s.payload import MOUNT, SPEC_FILE, Payload
from raydt.k8s.sizing import PodSize, Sizing, cpu_quantity, memory_quantity

API_VERSION = "ray.io/v1"
ENTRYPOINT = f"python -m raydt run {MOUNT}/{SPEC_FILE}"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
SPEC_VOLUME = "raydt-spec"
ITEMS_ROOT = "raydt"  # the folder of the volume's items, mounted (subPath) at MOUNT
STORAGE_VOLUME = "raydt-storage"
GPU = "nvidia.com/gpu"


def documents(options: Options, sizing: Sizing, payload: Payload, pip: list[str]) -> list[dict[str, Any]]:
    """The ConfigMap, then the RayJob or RayCluster (with idle stop: its ServiceAccount, Role and RoleBinding
    before it, so that its head pod finds them)."""
    cluster = ray_cluster_spec(options, sizing, payload)
    rbac: list[dict[str, Any]] = []
    if options.kind == "RayCluster":
        meta = _metadata(options, options.name)
        meta["annotations"]["raydt/submit"] = submit_command(pip)
        if options.idle_stop_s is not None:
            after = idle.duration_text(options.idle_stop_s)
            meta["annotations"]["raydt/idle-stop"] = after
            idle.add_watcher(options, cluster, after)
            rbac = idle.documents(options, _metadata(options, options.name, queue=False))
        main = {"apiVersion": API_VERSION, "kind": "RayCluster", "metadata": meta, "spec": cluster}
    else:
        main = {"apiVersion": API_VERSION, "kind": "RayJob", "metadata": _metadata(options, options.name)}
        main["spec"] = _job_spec(options, cluster, pip)
    return [config_map(options, payload), *rbac, main]


def config_map(options: Options, payload: Payload) -> dict[str, Any]:
    """The pods' spec and the code folder, mounted read-only at ``/raydt`` in every pod."""
    meta = _metadata(options, spec_config_map(options), queue=False)
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(payload.files)}
    if payload.binary:
        doc["binaryData"] = dict(payload.binary)
    return doc


def spec_config_map(options: Options) -> str:
    return f"{options.name}-spec"


def _metadata(options: Options, name: str, *, queue: bool = True) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "raydt", "app.kubernetes.io/instance": options.name}
    if queue and options.queue:
        labels[QUEUE_LABEL] = options.queue
    meta: dict[str, Any] = {"name": name}
    if options.namespace:
        meta["namespace"] = options.namespace
    meta["labels"] = labels
    meta["annotations"] = {"raydt/experiment": options.experiment, "raydt/version": __version__}
    return meta


def _job_spec(options: Options, cluster: dict[str, Any], pip: list[str]) -> dict[str, Any]:
    cfg = options.config
    spec: dict[str, Any] = {"entrypoint": ENTRYPOINT}
    if pip:
        spec["runtimeEnvYAML"] = yaml.safe_dump({"pip": pip}, sort_keys=False)
    spec["shutdownAfterJobFinishes"] = cfg.shutdown_after_job_finishes
    if cfg.shutdown_after_job_finishes:  # KubeRay refuses a TTL for a cluster it does not delete
        spec["ttlSecondsAfterFinished"] = cfg.ttl_seconds_after_finished
    if cfg.active_deadline_seconds is not None:
        spec["activeDeadlineSeconds"] = cfg.active_deadline_seconds
    spec["submitterConfig"] = {"backoffLimit": cfg.submitter_backoff_limit}
    spec["rayClusterSpec"] = cluster
    return spec


def ray_cluster_spec(options: Options, sizing: Sizing, payload: Payload) -> dict[str, Any]:
    """``RayCluster.spec`` (also a RayJob's ``rayClusterSpec``): the head, one worker group, autoscaling, auth."""
    head = options.config.head
    head_resources = _resources(head.cpu, head.memory, 0)
    spec: dict[str, Any] = {"rayVersion": RAY_VERSION}
    if sizing.elastic:
        spec["enableInTreeAutoscaling"] = True
        spec["autoscalerOptions"] = {"upscalingMode": "Default", "idleTimeoutSeconds": 60}
    if options.config.auth == "token":
        spec["authOptions"] = {"mode": "token"}
    spec["headGroupSpec"] = {
        "rayStartParams": {"num-cpus": "0"},  # the driver and Ray's services only: no training worker here
        "template": _pod_template(options, "ray-head", head_resources, payload),
    }
    group: dict[str, Any] = {
        "groupName": "workers",
        "replicas": sizing.replicas,
        "minReplicas": sizing.min_replicas,
        "maxReplicas": sizing.max_replicas,
        "rayStartParams": _worker_params(sizing.pod),
        "template": _pod_template(options, "ray-worker", _pod_resources(sizing.pod), payload),
    }
    spec["workerGroupSpecs"] = [group]
    return spec


def _worker_params(pod: PodSize) -> dict[str, str]:
    params = {"num-cpus": str(pod.ray_cpus)}
    if pod.custom:  # KubeRay passes it to `ray start --resources=...` through a shell: quoted JSON
        params["resources"] = '"' + json.dumps(pod.custom).replace('"', '\\"') + '"'
    return params


def _pod_resources(pod: PodSize) -> dict[str, Any]:
    return _resources(pod.cpu, memory_quantity(pod.memory), pod.gpus)


def _resources(cpu: float, memory: str, gpus: int) -> dict[str, Any]:
    amounts: dict[str, str] = {"cpu": cpu_quantity(cpu), "memory": memory}
    if gpus:
        amounts[GPU] = str(gpus)
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _pod_template(options: Options, container: str, resources: dict[str, Any], payload: Payload) -> dict[str, Any]:
    cfg = options.config
    mounts: list[dict[str, Any]] = [{"name": SPEC_VOLUME, "mountPath": MOUNT, "subPath": ITEMS_ROOT, "readOnly": True}]
    items = [{"key": key, "path": f"{ITEMS_ROOT}/{path}"} for key, path in payload.paths.items()]
    volumes: list[dict[str, Any]] = [
        {"name": SPEC_VOLUME, "configMap": {"name": spec_config_map(options), "items": items}}
    ]
    if options.storage.pvc:
        mounts.append({"name": STORAGE_VOLUME, "mountPath": options.storage.MOUNT})
        volumes.append({"name": STORAGE_VOLUME, "persistentVolumeClaim": {"claimName": options.storage.pvc}})
    main: dict[str, Any] = {"name": container, "image": options.image, "resources": resources, "volumeMounts": mounts}
    pod: dict[str, Any] = {"containers": [main], "volumes": volumes}
    if cfg.service_account:
        pod["serviceAccountName"] = cfg.service_account
    if cfg.node_selector:
        pod["nodeSelector"] = dict(cfg.node_selector)
    if cfg.tolerations:
        pod["tolerations"] = [t.model_dump(by_alias=True, exclude_none=True) for t in cfg.tolerations]
    labels = {"app.kubernetes.io/name": "raydt", "app.kubernetes.io/instance": options.name}
    return {"metadata": {"labels": labels}, "spec": pod}


def submit_command(pip: list[str]) -> str:
    """How to run the spec on a RayCluster (``--cluster``), through ``kubectl port-forward`` to its dashboard."""
    env = f"--runtime-env-json {shlex.quote(json.dumps({'pip': pip}))} " if pip else ""
    return f"ray job submit --address http://127.0.0.1:8265 {env}-- {ENTRYPOINT}"
