"""``k8sConfig.idleStop`` / ``--idle-stop`` on a RayCluster (``--cluster``): the documents and the head pod's watcher
container that suspend the cluster once nothing used it that long (``raydt.k8s.watcher`` runs in that container).

- **RBAC**: a Role that may ``get`` and ``patch`` this one RayCluster (``resourceNames``) and nothing else, bound to
  the head pod's service account: a ServiceAccount ``<name>-idle-stop`` of its own, or ``k8sConfig.serviceAccount``
  when given (it keeps what it was bound to, e.g. a cloud role for the storage, and gains this Role).
- **Only the watcher holds the API token**: the head pod does not mount the account's token
  (``automountServiceAccountToken: false``); the watcher container mounts it from a projected volume (token, CA,
  namespace, as the kubelet lays them out), as does KubeRay's autoscaler container of an autoscaling cluster
  (``autoscalerOptions.volumeMounts``), so the Ray container, which runs whatever the jobs send, gets no Kubernetes
  credentials (a patch of the RayCluster could change its pods' template).
- **The Ray token**: the watcher asks the dashboard next door, so it gets ``RAY_AUTH_TOKEN`` from the Secret KubeRay
  generates for the cluster (``authOptions: token``), as KubeRay gives it to the Ray container.
"""

from __future__ import annotations

import copy
from typing import Any

from raydt.k8s.options import Options

RBAC = "rbac.authorization.k8s.io/v1"
CONTAINER = "raydt-idle-stop"
TOKEN_VOLUME = "raydt-idle-stop-token"
TOKEN_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
MODULE = "raydt.k8s.watcher"
#: the watcher's share of the head pod: requests = limits, so the pod keeps its Guaranteed class
RESOURCES = {"cpu": "100m", "memory": "256Mi"}
TOKEN_SECONDS = 3600  # the kubelet renews the projected token before it expires


def duration_text(seconds: float) -> str:
    """``1800.0`` as ``30m`` (``2h``, ``1d``, ``90s``): how the watcher and the annotations say it."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def account_name(options: Options) -> str:
    """The head pod's service account: the given one, else the ServiceAccount these documents create."""
    return options.config.service_account or f"{options.name}-idle-stop"


def token_secret(cluster: str) -> str:
    """The Secret KubeRay writes the Ray token into: the cluster's name as KubeRay's ``utils.CheckName`` makes it
    (its last 50 characters; a leading digit or punctuation replaced by 'r')."""
    name = cluster[-50:]
    return "r" + name[1:] if not name[0].isalpha() else name


def command(options: Options, after: str) -> list[str]:
    """What the watcher container runs."""
    return ["python", "-m", MODULE, "--cluster", options.name, "--idle-stop", after]


def documents(options: Options, metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """ServiceAccount (unless ``k8sConfig.serviceAccount`` names one), Role and RoleBinding; ``metadata``: the
    common labels, annotations and namespace of the manifests (its name is replaced)."""
    name = f"{options.name}-idle-stop"

    def meta(kind_name: str) -> dict[str, Any]:
        return {**copy.deepcopy(metadata), "name": kind_name}

    docs: list[dict[str, Any]] = []
    if not options.config.service_account:
        docs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(account_name(options))})
    rule = {"apiGroups": ["ray.io"], "resources": ["rayclusters"], "resourceNames": [options.name]}
    docs.append(
        {"apiVersion": RBAC, "kind": "Role", "metadata": meta(name), "rules": [{**rule, "verbs": ["get", "patch"]}]}
    )
    subject: dict[str, Any] = {"kind": "ServiceAccount", "name": account_name(options)}
    if options.namespace:  # else the binding's own namespace (Kubernetes' default for a RoleBinding's subject)
        subject["namespace"] = options.namespace
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
    docs.append(
        {"apiVersion": RBAC, "kind": "RoleBinding", "metadata": meta(name), "roleRef": role_ref, "subjects": [subject]}
    )
    return docs


def add_watcher(options: Options, cluster: dict[str, Any], after: str) -> None:
    """Add the watcher container and its token to the head pod of ``cluster`` (a RayCluster's spec, in place); an
    autoscaling cluster's autoscaler (KubeRay's container in the head pod) mounts the token too: it needs the API."""
    mount = {"name": TOKEN_VOLUME, "mountPath": TOKEN_MOUNT, "readOnly": True}
    if "autoscalerOptions" in cluster:
        cluster["autoscalerOptions"].setdefault("volumeMounts", []).append(dict(mount))
    pod = cluster["headGroupSpec"]["template"]["spec"]
    pod["serviceAccountName"] = account_name(options)
    pod["automountServiceAccountToken"] = False
    sources = [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": TOKEN_SECONDS}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
    ]
    pod["volumes"].append({"name": TOKEN_VOLUME, "projected": {"sources": sources}})
    container: dict[str, Any] = {"name": CONTAINER, "image": options.image, "command": command(options, after)}
    if options.config.auth == "token":
        ref = {"name": token_secret(options.name), "key": "auth_token"}
        container["env"] = [{"name": "RAY_AUTH_TOKEN", "valueFrom": {"secretKeyRef": ref}}]
    container["resources"] = {"requests": dict(RESOURCES), "limits": dict(RESOURCES)}
    container["volumeMounts"] = [mount]
    pod["containers"].append(container)
