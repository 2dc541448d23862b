"""Memory-aware concurrency: fewer trials at once when the nodes' memory cannot hold what a trial uses.

Without ``resourcesPerWorker.memoryGb`` Ray places trials by CPU and GPU alone, and its OOM killer kills
trials once a node runs out (ray-project/ray#23109). The guard measures each trial's memory while it runs
and lowers the number of trials the searcher starts when the nodes' memory for tasks and actors (Ray's
``memory`` resource, per node) holds fewer trials of the biggest size seen so far. It never raises the
cap again. Measured from ``/proc`` (Linux) for trials on the driver's node: the private memory of the
trial's process and its children, and for distributed trials a share of Ray Train's controller and
worker processes.
"""

from __future__ import annotations

import os
import time
from typing import Any

import ray.tune

from raydt.plan import TunePlan
from raydt.progress import ProgressView
from raydt.utilisation.sampler import process_tree as process_tree  # one home; the tests read it here

#: Process titles Ray gives the processes of a Ray Train run started inside a trial.
TRAIN_TITLES = (b"ray::RayTrainWorker", b"ray::TrainController")


def private_bytes(pid: int) -> int:
    """Memory only this process holds (private clean + dirty pages; RSS when smaps_rollup is unreadable)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            kb = sum(int(line.split()[1]) for line in fh if line.startswith(("Private_Clean:", "Private_Dirty:")))
        return kb * 1024
    except (OSError, ValueError, IndexError):
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0


def train_processes() -> list[int]:
    """Pids of the Ray Train controllers and workers on this machine."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                if fh.read(64).startswith(TRAIN_TITLES):
                    pids.append(int(name))
        except OSError:
            continue
    return pids


def trials_fit(node_memory: list[int], trial_bytes: int) -> int:
    """Trials of ``trial_bytes`` each that the nodes hold at once (a trial runs on one node)."""
    return sum(int(m // trial_bytes) for m in node_memory) if trial_bytes > 0 else 0


class MemoryGuard(ray.tune.Callback):  # type: ignore[misc]
    """Lowers the searcher's cap on trials at once when the trials turn out too big for the nodes' memory.

    ``adjustable`` False (schedulers that create every sample up front): the cap cannot change, so the
    guard only warns. ``notes`` go into the result's warnings.
    """

    def __init__(
        self, running: int, node_memory: list[int], view: ProgressView, distributed: bool, adjustable: bool
    ) -> None:
        self.cap = running
        self.node_memory = node_memory
        self.view = view
        self.distributed = distributed
        self.adjustable = adjustable
        self.search_alg: Any = None  # set by attach(): ConcurrencyLimiter or BasicVariantGenerator
        self.peak = 0
        self.notes: list[str] = []
        self.interval_s = 1.0
        self._next = 0.0
        self._local_ip: str | None = None
        self._warned = False

    def attach(self, search_alg: Any) -> Any:
        self.search_alg = search_alg
        return search_alg

    def __getstate__(self) -> dict[str, Any]:  # Tune snapshots its callbacks; the view stays behind
        return {**self.__dict__, "view": None, "search_alg": None}

    def on_trial_result(self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any], **_: Any) -> None:
        now = time.monotonic()
        if now < self._next or not self.node_memory:
            return
        self._next = now + self.interval_s
        if self._local_ip is None:
            self._local_ip = ray.util.get_node_ip_address()
        pid = result.get("pid")
        if not isinstance(pid, int) or result.get("node_ip") != self._local_ip:
            return  # another node's process: not measurable from here
        running = max(1, sum(1 for t in trials if t.status == "RUNNING"))
        self.observe(self.measure(pid, running), running)

    def measure(self, pid: int, running: int) -> int:
        size = sum(private_bytes(p) for p in process_tree(pid))
        if self.distributed:  # Train's controller and workers are Ray actors, not the trial's children
            size += sum(private_bytes(p) for p in train_processes()) // running
        return size

    def observe(self, size: int, running: int) -> None:
        """A trial measured at ``size`` bytes while ``running`` trials ran: lower the cap if need be."""
        if size <= self.peak:
            return
        self.peak = size
        fit = trials_fit(self.node_memory, size)
        if fit >= self.cap:
            return
        new = max(1, fit)
        per_node = ", ".join(f"{m / 1e9:.2f}" for m in self.node_memory)
        why = (
            f"a trial used up to {size / 1e9:.2f} GB of memory so far; the nodes' memory for tasks (Ray's "
            f"'memory' resource: {per_node} GB) holds {fit} such trial(s) at once"
        )
        if self.adjustable and self.search_alg is not None:
            self.search_alg.max_concurrent = new
            note = f"{why}: running at most {new} trial(s) at once instead of {self.cap} (Ray's OOM killer spares them)"
            self.cap = new
        elif self._warned:
            return
        else:
            self._warned = True
            note = f"{why}, but up to {self.cap} may run at once (the scheduler keeps every sample alive)"
        note += (
            "; set config.resourcesPerWorker.memoryGb to reserve memory per worker, or tuneConfig.maxConcurrentTrials"
        )
        self.notes.append(note)
        if self.view is not None:
            self.view.event(note)


def guard_for(p: TunePlan, conc: Any, status: dict[str, Any], view: ProgressView) -> MemoryGuard | None:
    """The guard for a search whose concurrency raydt chose (``conc``: ``runners.concurrency.Concurrency``);
    none when the user reserved memory per worker or set maxConcurrentTrials, or the cluster autoscales
    (its nodes, and so its memory, change under the search)."""
    if "memory" in p.train.workers.resources or p.max_concurrent is not None or status.get("autoscaler"):
        return None
    nodes = [int(n["memoryBytes"]) for n in status.get("nodes", []) if n.get("memoryBytes")]
    return MemoryGuard(conc.running, nodes, view, p.distributed, conc.cap_creation) if nodes else None
