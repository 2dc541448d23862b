"""``k8sConfig``: what ``raydt k8s`` needs to know that the rest of the spec cannot (image, namespace, service
account, node placement, pip packages, the head's size, the RayJob's lifetime). Never imports Ray.

``raydt run`` ignores this section; ``raydt k8s`` reads it (a command-line flag wins over the same key here).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from raydt.spec.strict import MAX_RESOURCE, StrictModel

#: A Kubernetes quantity (what a pod's ``resources`` take), as the Kubernetes API checks it.
_NUMBER = r"(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
QUANTITY = rf"^(\+|-)?{_NUMBER}(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?{_NUMBER}))?$"
#: A DNS-1123 label: namespaces, ConfigMap keys' owners, service accounts (at most 63 characters).
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
#: A DNS-1123 subdomain: a service account or PersistentVolumeClaim name.
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

#: A duration: 30m, 90s, 2h, 1d, or a plain number of seconds (``clusters.options.parse_duration``).
DURATION = r"^\s*\d+(\.\d+)?\s*[smhd]?\s*$"

NonEmpty = Annotated[str, Field(min_length=1)]


class Toleration(StrictModel):
    """One Kubernetes toleration, set on every pod (e.g. GPU nodes' ``nvidia.com/gpu`` taint)."""

    key: str | None = Field(None, min_length=1, description="The taint key (left out with operator Exists: all).")
    operator: Literal["Equal", "Exists"] = Field("Equal", description="Equal: key and value match; Exists: key.")
    value: str | None = Field(None, description="The taint value (operator Equal).")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="The taint effect to tolerate (left out: all)."
    )
    toleration_seconds: int | None = Field(
        None, ge=0, le=2**31 - 1, description="NoExecute: how long the pod stays bound after the taint appears."
    )


class HeadSize(StrictModel):
    """The head pod: Ray's GCS, dashboard and the driver (raydt itself). It runs no training worker."""

    cpu: float = Field(1.0, gt=0, le=MAX_RESOURCE, description="CPUs requested (and the limit) for the head pod.")
    memory: str = Field(
        "4Gi", pattern=QUANTITY, description="Memory of the head pod as a Kubernetes quantity (e.g. 4Gi, 8G)."
    )


class K8sConfig(StrictModel):
    """``k8sConfig``: options of ``raydt k8s`` (KubeRay manifests); ``raydt run`` ignores it. Flags win."""

    image: str | None = Field(
        None,
        min_length=1,
        description="Container image of every Ray pod (--image). Default: rayproject/ray:<Ray version>-py<XY>, "
        "with -gpu when config.useGpu (it has no raydt: set pip). A rayproject/ray tag must match raydt's Ray "
        "version and Python >= 3.11. An image with raydt: raydt k8s --dockerfile DIR writes its build.",
    )
    namespace: str | None = Field(
        None, max_length=63, pattern=DNS_LABEL, description="Namespace of every document (--namespace)."
    )
    name: str | None = Field(
        None,
        max_length=47,
        pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$",
        description="Name of the RayJob/RayCluster (--name; a DNS-1035 label, at most 47 characters). Default: "
        "runConfig.name made a valid name, else raydt-<mode>-<timestamp>.",
    )
    storage: str | None = Field(
        None,
        min_length=1,
        description="Where the experiment goes (--storage): a URI (s3://bucket/path, gs://...) written as "
        "runConfig.storagePath, or pvc:NAME, a ReadWriteMany PersistentVolumeClaim mounted on every pod.",
    )
    queue: str | None = Field(
        None, max_length=63, pattern=DNS_SUBDOMAIN, description="Kueue LocalQueue (--queue): the queue-name label."
    )
    service_account: str | None = Field(
        None,
        max_length=253,
        pattern=DNS_SUBDOMAIN,
        description="Service account of the Ray pods (e.g. one bound to a cloud role for s3:// or gs:// storage).",
    )
    node_selector: dict[NonEmpty, str] = Field(
        default_factory=dict, description="Node labels every Ray pod requires (Kubernetes nodeSelector)."
    )
    tolerations: list[Toleration] = Field(default_factory=list, description="Tolerations of every Ray pod.")
    pip: list[NonEmpty] | None = Field(
        None,
        description="pip packages of the job's runtime environment (runtimeEnvYAML). No package index has "
        "ray-distributed-trainer: on a rayproject/ray image (no raydt) name a wheel every pod can fetch, "
        "'ray-distributed-trainer[<extras>] @ https://HOST/ray_distributed_trainer-<version>-py3-none-any.whl', "
        "or add your index ('--extra-index-url URL'); else it is refused. Default: none (the image must have raydt: "
        "raydt k8s --dockerfile DIR writes such an image's build).",
    )
    head: HeadSize = Field(default_factory=HeadSize, description="The head pod's size.")
    auth: Literal["token", "none"] = Field(
        "token",
        description="token: Ray token authentication (RayCluster authOptions, KubeRay >= 1.5.1): the dashboard "
        "and Jobs API refuse requests without the cluster's token. none: no authOptions (older KubeRay).",
    )
    idle_stop: str | None = Field(
        None,
        pattern=DURATION,
        description="RayCluster (--cluster) only: suspend the cluster (spec.suspend: true, KubeRay >= 1.1: its pods "
        "go, the object stays) once no job, driver or Serve application has used it for this long, e.g. 30m, 90s, "
        "2h (--idle-stop). Adds a watcher container to the head pod (the image must have raydt) and a Role that lets "
        "it get and patch this RayCluster only.",
    )
    shutdown_after_job_finishes: bool = Field(
        True, description="RayJob: delete the Ray cluster once the job ends (the experiment stays in storage)."
    )
    ttl_seconds_after_finished: int = Field(
        300, ge=0, le=2**31 - 1, description="RayJob: seconds the finished cluster is kept (logs) before deletion."
    )
    active_deadline_seconds: int | None = Field(
        None, ge=1, le=2**31 - 1, description="RayJob: fail the job after this many seconds (default: no limit)."
    )
    submitter_backoff_limit: int = Field(
        2,
        ge=0,
        le=100,
        description="RayJob submitterConfig.backoffLimit: retries of the submitter pod (a retry resumes the same "
        "experiment: runConfig.name is fixed in the manifest).",
    )
