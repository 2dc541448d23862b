"""Where a planned run would go and what it has, as a ``clusterStatus``-shaped dict the preflight reads.

- **embedded**: the Ray this machine starts for the run (no address, or ``config.address: local``): its CPUs and
  GPUs (``config.rayInit`` may set them) and Ray's ``memory`` resource, 70 % of the available memory (the rest is
  Ray's object store). Imports no Ray.
- **address**: a running cluster (``--address``, ``config.address``, ``RAY_ADDRESS``, or the cluster ``raydt
  cluster up`` started): connected to, as a run would, for its nodes (``ray_session.cluster_status``).
- **k8s**: the KubeRay cluster ``raydt k8s`` would write (``k8s.sizing``): a head that runs no worker, and the
  worker group's pods at their largest count, each offering Ray its CPUs, GPUs and memory. Imports no Ray.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from raydt.plan import TrainPlan, TunePlan

#: Ray's default: the object store takes 30 % of the memory it finds; tasks and actors get the rest.
RAY_MEMORY_SHARE = 0.7


@dataclass(frozen=True)
class Target:
    kind: str  # embedded | address | k8s
    status: dict[str, Any]  # clusterStatus's shape: numNodes, totalCpu, totalGpu, nodes, autoscaler
    about: str
    address: str | None = None
    autoscaling: bool = False

    def info(self) -> dict[str, Any]:
        """``plan.target`` (camelCase)."""
        st = self.status
        out: dict[str, Any] = {"kind": self.kind, "numNodes": st["numNodes"], "totalCpu": st["totalCpu"]}
        out |= {"totalGpu": st["totalGpu"], "memoryBytes": int(sum(n.get("memoryBytes", 0) for n in st["nodes"]))}
        out |= {"autoscaling": self.autoscaling or bool(st.get("autoscaler")), "about": self.about}
        return out | ({"address": self.address} if self.address else {})


def status_of(nodes: list[dict[str, Any]], autoscaler: dict[str, Any] | None = None) -> dict[str, Any]:
    """A clusterStatus-shaped dict of ``nodes`` (each {cpu, gpu, memoryBytes, customResources})."""
    return {
        "numNodes": len(nodes),
        "totalCpu": sum(float(n["cpu"]) for n in nodes),
        "totalGpu": sum(float(n["gpu"]) for n in nodes),
        "nodes": nodes,
        "autoscaler": autoscaler,
    }


def embedded(p: TrainPlan) -> Target:
    """The Ray this machine starts for the run."""
    from raydt.diagnose.host import gpu_devices, meminfo

    init = p.ray_init
    cpus = float(init.get("num_cpus") or os.cpu_count() or 1)
    gpus = float(init["num_gpus"]) if isinstance(init.get("num_gpus"), int | float) else float(gpu_devices())
    memory = init.get("_memory") or init.get("memory")
    mem = int(memory) if isinstance(memory, int | float) else int(meminfo().get("MemAvailable", 0) * RAY_MEMORY_SHARE)
    custom = {str(k): float(v) for k, v in (init.get("resources") or {}).items()}
    node = {"cpu": cpus, "gpu": gpus, "memoryBytes": mem, "customResources": custom}
    about = f"the embedded Ray this machine starts: {cpus:g} CPU, {gpus:g} GPU, {mem / 1e9:.2f} GB for tasks"
    return Target("embedded", status_of([node]), about)


def running(address: str, p: TrainPlan) -> Target:
    """A running cluster, connected to as the run would (imports Ray; starts nothing)."""
    from raydt import ray_session

    with ray_session.connect(address, dashboard=False, train=False):
        status = ray_session.cluster_status(p.autoscaling)
    about = f"the running cluster at {address}: {status['numNodes']} node(s), its resources as Ray reports them"
    return Target("address", status, about, address=address)


def kubernetes(the_plan: TrainPlan | TunePlan) -> Target:
    """The KubeRay cluster ``raydt k8s`` would write for this plan (its worker group at the most pods)."""
    from raydt.k8s import sizing

    group = sizing.size(the_plan)
    pod = group.pod
    memory = int(pod.memory * (1 - sizing.OBJECT_STORE_SHARE) - sizing.RAY_OVERHEAD)
    worker = {"cpu": float(pod.ray_cpus), "gpu": float(pod.gpus), "memoryBytes": memory, "customResources": pod.custom}
    head = {"cpu": 0.0, "gpu": 0.0, "memoryBytes": 0, "customResources": {}}
    about = (
        f"the KubeRay cluster `raydt k8s` writes: a head that runs no worker and {group.max_replicas} worker pod(s) "
        f"of {pod.ray_cpus} CPU, {pod.gpus} GPU, {pod.memory / 2**30:.1f} GiB"
    )
    nodes = [head, *(dict(worker) for _ in range(group.max_replicas))]
    return Target("k8s", status_of(nodes), about, autoscaling=group.elastic)


def resolve(the_plan: TrainPlan | TunePlan, address: str | None, k8s: bool) -> Target:
    """The target of ``raydt plan``: ``--k8s``, else ``--address`` or the address the run would use, else embedded."""
    train = the_plan.train if isinstance(the_plan, TunePlan) else the_plan
    if k8s:
        return kubernetes(the_plan)
    where = address or train.address
    if where is None or where.startswith("local"):
        return embedded(train)
    return running(where, train)
