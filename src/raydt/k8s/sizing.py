"""The Ray cluster a plan needs, in pods: how many worker pods, and what each requests from Kubernetes and offers Ray.

- **train**: one pod per Ray Train worker; ``numWorkers: {min, max}`` becomes an autoscaling worker group
  (``minReplicas``..``maxReplicas``, KubeRay's in-tree autoscaler).
- **tune**: one pod per trial that may run at once (``tuneConfig.maxConcurrentTrials``, default
  ``min(trials, DEFAULT_CONCURRENT_TRIALS)``). A 1-worker trial's pod holds that worker; a distributed trial's
  pod holds its N workers plus the trial's own process (``TRIAL_DRIVER_CPU`` each, as the tune runner counts it).
- **The head** runs Ray's services and the driver (raydt), never a training worker: Ray sees 0 CPUs there.

Per pod, requests equal limits (Kubernetes' Guaranteed class). KubeRay tells Ray the pod's CPUs (rounded up),
memory and ``nvidia.com/gpu`` from the limits; the CPUs are also written explicitly (``num-cpus``). A worker pod's
memory is 2 GiB per CPU and at least 4 GiB, or, with ``resourcesPerWorker.memoryGb``, enough that Ray's object
store (30 % of the pod) and its own processes (0.5 GiB) leave that much to the workers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from raydt.plan import TrainPlan, TunePlan, WorkerPlan

GiB = 1 << 30
MiB = 1 << 20
DEFAULT_CONCURRENT_TRIALS = 4
#: The CPU a distributed trial's own process holds: none (``runners.tune.trials.TRIAL_DRIVER`` asks for memory only).
TRIAL_DRIVER_CPU = 0.0
MIN_POD_MEMORY = 4 * GiB
MEMORY_PER_CPU = 2 * GiB
RAY_OVERHEAD = GiB // 2
OBJECT_STORE_SHARE = 0.3


@dataclass(frozen=True)
class PodSize:
    """What one pod requests from Kubernetes (requests = limits) and offers Ray."""

    cpu: float  # Kubernetes CPUs
    ray_cpus: int  # what Ray sees (num-cpus)
    gpus: int  # nvidia.com/gpu
    memory: int  # bytes
    custom: dict[str, float]  # Ray custom resources of the pod


@dataclass(frozen=True)
class Sizing:
    """The worker group: its pods and how many."""

    pod: PodSize
    replicas: int
    min_replicas: int
    max_replicas: int
    workers_per_pod: int
    notes: tuple[str, ...] = ()

    @property
    def elastic(self) -> bool:
        """The group autoscales between min and max replicas."""
        return self.min_replicas < self.max_replicas


def size(plan: TrainPlan | TunePlan) -> Sizing:
    """The worker group of a train or tune plan."""
    if isinstance(plan, TunePlan):
        return _tune(plan)
    workers = plan.workers
    pod, notes = pod_size(workers, 1, 0.0)
    low = workers.min_workers if workers.elastic and workers.min_workers else workers.num_workers
    return Sizing(pod, low, low, workers.num_workers, 1, notes)


def _tune(plan: TunePlan) -> Sizing:
    workers = plan.train.workers
    trials = plan.num_trials
    notes: list[str] = []
    if plan.max_concurrent is not None:
        concurrent = min(plan.max_concurrent, trials)
    else:
        concurrent = min(trials, DEFAULT_CONCURRENT_TRIALS)
        if trials > concurrent:
            notes.append(
                f"tuneConfig.maxConcurrentTrials is not set: the worker group holds {concurrent} of the {trials} "
                "trials at once (set it to size the cluster)"
            )
    per_pod = workers.num_workers if plan.distributed else 1
    holder = TRIAL_DRIVER_CPU * workers.num_workers if plan.distributed else 0.0
    pod, pod_notes = pod_size(workers, per_pod, holder)
    return Sizing(pod, concurrent, concurrent, concurrent, per_pod, (*notes, *pod_notes))


def pod_size(workers: WorkerPlan, per_pod: int, holder_cpu: float) -> tuple[PodSize, tuple[str, ...]]:
    """One pod holding ``per_pod`` workers (and ``holder_cpu`` for a distributed trial's own process)."""
    res = workers.resources
    notes: list[str] = []
    need = per_pod * res.get("CPU", 0.0) + holder_cpu
    ray_cpus = math.ceil(round(need, 6))
    gpu_need = per_pod * res.get("GPU", 0.0)
    gpus = math.ceil(round(gpu_need, 6))
    if gpus != gpu_need:
        notes.append(f"each worker pod asks for {gpus} whole GPU(s) for {gpu_need:g} GPU of workers")
    memory = _memory(per_pod * res.get("memory", 0.0), ray_cpus)
    custom = {k: per_pod * v for k, v in res.items() if k not in ("CPU", "GPU", "memory") and v}
    if custom:
        notes.append(
            f"custom Ray resources {sorted(custom)} are declared on the worker pods (rayStartParams.resources): "
            "place the pods on nodes that have them (k8sConfig.nodeSelector)"
        )
    cpu = need or 1.0  # GPU-only workers: the pod still runs Ray's own processes
    return PodSize(cpu, ray_cpus, gpus, memory, custom), tuple(notes)


def _memory(ray_memory: float, cpus: int) -> int:
    """The pod's memory in bytes (whole MiB)."""
    if ray_memory:
        need = (ray_memory + RAY_OVERHEAD) / (1 - OBJECT_STORE_SHARE)
    else:
        need = MEMORY_PER_CPU * max(cpus, 1)
    return math.ceil(max(need, MIN_POD_MEMORY) / MiB) * MiB


def cpu_quantity(cpus: float) -> str:
    """A Kubernetes CPU quantity: whole CPUs ('2'), else millicores rounded up ('500m', '2020m')."""
    milli = math.ceil(round(cpus * 1000, 6))
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def memory_quantity(size_bytes: int) -> str:
    """A Kubernetes memory quantity: '4Gi' when whole GiB, else whole MiB ('5852Mi')."""
    return f"{size_bytes // GiB}Gi" if size_bytes % GiB == 0 else f"{math.ceil(size_bytes / MiB)}Mi"
