"""What ``raydt k8s`` writes that the spec's training settings cannot know: names, image, storage, queue. A flag wins
over the same key of ``k8sConfig``, which wins over the default. Every problem is reported at once, at the flag
(``--image``) or the spec path (``k8sConfig.image``, ``runConfig.storagePath``) that gave the value.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Literal

from raydt import paths
from raydt.clusters.options import parse_duration
from raydt.errors import OptionError, SpecError, SpecIssue
from raydt.plan import DEFAULT_STORAGE, TrainPlan
from raydt.spec.loader import LoadedSpec
from raydt.spec.model import K8sConfig
from raydt.suggest import dns_label

#: The Ray version raydt runs on (pyproject's pin): the default image carries it, a rayproject image must.
RAY_VERSION = "2.60.0"
RAY_IMAGE = "rayproject/ray"
MIN_PYTHON = (3, 11)
#: KubeRay: a RayJob's name becomes its RayCluster's name plus 6 characters, at most 53 (a Service name suffix).
MAX_NAME = {"RayJob": 47, "RayCluster": 53}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_RAY_TAG = re.compile(r"^(docker\.io/)?rayproject/ray(-ml|-llm)?:(?P<version>\d+\.\d+\.\d+)(?P<rest>(-[a-z0-9]+)*)$")
STORAGE_HINT = (
    "Pass --storage s3://bucket/path (gs://, abfs://, ... : any URI Ray Train reads) or --storage pvc:NAME (a "
    "ReadWriteMany PersistentVolumeClaim every pod mounts), or set k8sConfig.storage."
)


@dataclass(frozen=True)
class Flags:
    """What the command line (or ``raydt.k8s_manifests``' keywords) gives; None: not given."""

    cluster: bool = False
    namespace: str | None = None
    name: str | None = None
    image: str | None = None
    storage: str | None = None
    queue: str | None = None
    working_dir: str | None = None  # the code folder that travels (default: the deepest holding every code file)
    excludes: tuple[str, ...] = ()  # more patterns left out of it (besides raydt submit's defaults)
    dockerfile: str | None = None  # a folder to write the image build into (the image is --image)
    idle_stop: str | None = None  # --idle-stop: a RayCluster suspends itself after this long unused


@dataclass(frozen=True)
class Storage:
    """Where every pod writes the experiment: a URI, or a PersistentVolumeClaim mounted at ``MOUNT``."""

    uri: str | None = None
    pvc: str | None = None

    MOUNT = "/raydt-storage"

    @property
    def storage_path(self) -> str:
        """``runConfig.storagePath`` in the pods."""
        return self.uri or self.MOUNT


@dataclass(frozen=True)
class Options:
    """Everything the manifests need besides the plan, resolved and checked."""

    kind: Literal["RayJob", "RayCluster"]
    name: str
    namespace: str | None
    image: str
    storage: Storage
    queue: str | None
    experiment: str  # runConfig.name in the pods: fixed, so a retried job resumes the same experiment
    config: K8sConfig  # the rest (service account, placement, pip, head, auth, lifetime)
    flags: Flags = Flags()  # as given: the code folder, its excludes, the image build
    idle_stop_s: float | None = None  # --idle-stop / k8sConfig.idleStop in seconds (a RayCluster only)


def resolve(loaded: LoadedSpec, plan: TrainPlan, flags: Flags) -> tuple[Options, list[SpecIssue]]:
    """The options of this spec and these flags, and every problem found (at its flag or spec path)."""
    cfg = loaded.spec.k8s_config or K8sConfig()
    kind: Literal["RayJob", "RayCluster"] = "RayCluster" if flags.cluster else "RayJob"
    issues: list[SpecIssue] = []
    name = _name(_pick("name", flags.name, cfg.name), plan.name, kind, issues)
    namespace = _checked("namespace", _pick("namespace", flags.namespace, cfg.namespace), DNS_LABEL, 63, issues)
    queue = _checked("queue", _pick("queue", flags.queue, cfg.queue), DNS_1123, 63, issues)
    image_at, image = _pick("image", flags.image, cfg.image)
    image = image or default_image(plan.workers.use_gpu)
    issues += image_issues(image, image_at or "--image", plan.workers.use_gpu)
    storage = _storage(loaded, _pick("storage", flags.storage, cfg.storage), issues)
    issues += _toleration_issues(cfg)
    named = flags.name is not None or cfg.name is not None
    experiment = loaded.spec.run_config.name or (name if named else plan.name)
    idle = _idle_stop(cfg, flags, kind, issues)
    opts = Options(kind, name, namespace[1], image, storage, queue[1], experiment, cfg, flags, idle)
    return opts, issues


def _idle_stop(cfg: K8sConfig, flags: Flags, kind: str, issues: list[SpecIssue]) -> float | None:
    """--idle-stop / k8sConfig.idleStop in seconds: a RayCluster's only, and run by raydt in the head pod's image."""
    at, value = (
        ("--idle-stop", flags.idle_stop) if flags.idle_stop is not None else ("k8sConfig.idleStop", cfg.idle_stop)
    )
    if value is None:
        return None
    found = len(issues)
    seconds = None
    try:
        seconds = parse_duration(value, at)
    except OptionError as err:
        issues += err.issues
    if kind != "RayCluster":
        rule = (
            "needs --cluster: a RayJob's Ray cluster already goes when its job ends (shutdownAfterJobFinishes); "
            "idle stop suspends a RayCluster that stays"
        )
        hint = (
            "Add --cluster, or leave idleStop out (k8sConfig.ttlSecondsAfterFinished: how long a finished job's stays)."
        )
        issues.append(SpecIssue(at, rule, value, hint))
    if cfg.pip:
        rule = (
            "runs raydt in a container of the head pod, outside Ray's runtime environment: k8sConfig.pip installs "
            "raydt only into Ray's jobs, so that container would have none"
        )
        hint = "Use an image with raydt: --image TAG --dockerfile DIR writes its build; then leave k8sConfig.pip out."
        issues.append(SpecIssue(at, rule, value, hint))
    return seconds if len(issues) == found else None


def _toleration_issues(cfg: K8sConfig) -> list[SpecIssue]:
    """Kubernetes' rules for a toleration that its schema does not say."""
    issues = []
    for i, toleration in enumerate(cfg.tolerations):
        at = f"k8sConfig.tolerations.{i}"
        if toleration.operator == "Exists" and toleration.value:
            issues.append(SpecIssue(f"{at}.value", "must be left out with operator Exists", toleration.value))
        if toleration.key is None and toleration.operator != "Exists":
            hint = "Set operator: Exists (tolerates every taint), or name the key."
            issues.append(SpecIssue(f"{at}.operator", "must be Exists when no key is given", toleration.operator, hint))
    return issues


def error(issues: list[SpecIssue]) -> SpecError:
    """The error for these problems: ``OptionError`` (code USAGE) when only flags are wrong, else ``SpecError``."""
    return (OptionError if all(i.path.startswith("--") for i in issues) else SpecError)(issues)


def _pick(key: str, flag: str | None, configured: str | None) -> tuple[str, str | None]:
    """(where the value comes from, the value): the flag, else ``k8sConfig.<key>``."""
    if flag is not None:
        return f"--{key}", flag
    return (f"k8sConfig.{key}", configured) if configured is not None else ("", None)


def _checked(
    key: str, given: tuple[str, str | None], pattern: re.Pattern[str], limit: int, issues: list[SpecIssue]
) -> tuple[str, str | None]:
    at, value = given
    if value is not None and (not pattern.match(value) or len(value) > limit):
        fixed = dns_label(value, limit, "a-z0-9")
        rule = f"must be a Kubernetes {key} name: lowercase letters, digits, '-' (at most {limit} characters)"
        issues.append(SpecIssue(at, rule, value, f"e.g. '{fixed}'." if fixed else ""))
    return given


def _name(given: tuple[str, str | None], experiment: str, kind: str, issues: list[SpecIssue]) -> str:
    """The RayJob's/RayCluster's name: given (checked), else the experiment's name made a DNS-1035 label."""
    at, value = given
    limit = MAX_NAME[kind]
    if value is None:
        return dns_label(experiment, limit) or "raydt"
    if not DNS_1035.match(value) or len(value) > limit:
        rule = (
            f"must be a DNS-1035 label of at most {limit} characters (a {kind} name): lowercase letters, digits "
            "and '-', starting with a letter and ending with a letter or digit"
        )
        fixed = dns_label(value, limit)
        issues.append(SpecIssue(at, rule, value, f"e.g. '{fixed}'." if fixed else ""))
    return value


def default_image(use_gpu: bool) -> str:
    """Ray's image for raydt's Ray version and this Python: ``rayproject/ray:2.60.0-py311`` (+ ``-gpu``)."""
    major, minor = sys.version_info[:2]
    return f"{RAY_IMAGE}:{RAY_VERSION}-py{major}{minor}{'-gpu' if use_gpu else ''}"


def is_ray_image(image: str) -> bool:
    """A ``rayproject/ray`` image (any tag): Ray without raydt."""
    return re.match(r"^(docker\.io/)?rayproject/ray(-ml|-llm)?([:@]|$)", image) is not None


def image_issues(image: str, at: str, use_gpu: bool) -> list[SpecIssue]:
    """What is wrong with a ``rayproject/ray`` image for this spec (another image is taken as it is: its tag says
    nothing raydt can check)."""
    found = _RAY_TAG.match(image)
    if not found:
        return []
    tags = found["rest"].split("-")[1:]
    issues = []
    if found["version"] != RAY_VERSION:
        rule = f"runs Ray {found['version']}, but raydt runs on Ray {RAY_VERSION}: the pods must run the same Ray"
        issues.append(SpecIssue(at, rule, image, f"Use {default_image(use_gpu)}."))
    python = next((t for t in tags if re.fullmatch(r"py3\d+", t)), None)
    if python is not None and (3, int(python[3:])) < MIN_PYTHON:
        rule = f"has Python 3.{python[3:]}; raydt needs Python >= {'.'.join(map(str, MIN_PYTHON))}"
        issues.append(SpecIssue(at, rule, image, f"Use {default_image(use_gpu)}."))
    if use_gpu and not any(t == "gpu" or re.fullmatch(r"cu\d+", t) for t in tags):
        rule = "is a CPU image, but config.useGpu is true: GPU workers need a CUDA image (a -gpu or -cuXXX tag)"
        issues.append(SpecIssue(at, rule, image, f"Use {default_image(True)}, or set config.useGpu=false."))
    return issues


def _storage(loaded: LoadedSpec, given: tuple[str, str | None], issues: list[SpecIssue]) -> Storage:
    """The storage every pod reaches: --storage / k8sConfig.storage, else a URI runConfig.storagePath names."""
    at, value = given
    run_config = loaded.spec.run_config
    if value is None and run_config.storage_path and paths.is_remote(run_config.storage_path):
        at, value = "runConfig.storagePath", run_config.storage_path
    if value is None:
        local = run_config.storage_path or DEFAULT_STORAGE
        shared = " (runConfig.sharedStorage cannot mount it in the pods)" if run_config.shared_storage else ""
        rule = (
            "is a local path, but a KubeRay job runs on several pods (a head and its workers): Ray Train and Tune "
            f"need storage every pod reaches{shared}"
        )
        issues.append(SpecIssue("runConfig.storagePath", rule, local, STORAGE_HINT))
        return Storage()
    if value.startswith("pvc:"):
        claim = value.removeprefix("pvc:")
        if not DNS_1123.match(claim) or len(claim) > 253:
            rule = "pvc:NAME must name a PersistentVolumeClaim: lowercase letters, digits, '-' and '.'"
            issues.append(SpecIssue(at, rule, value, f"e.g. 'pvc:{dns_label(claim, 253, 'a-z0-9') or 'my-claim'}'."))
        return Storage(pvc=claim)
    if not paths.is_remote(value):
        rule = "must be a URI (s3://, gs://, ...) or pvc:NAME: a local path is not on the pods"
        issues.append(SpecIssue(at, rule, value, STORAGE_HINT))
    return Storage(uri=value)
