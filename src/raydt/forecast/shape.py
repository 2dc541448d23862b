"""A planned run's shape on its target: each trial's workers and resources, how many trials run at once and why,
and whether it fits, decided by the same code the run uses (``preflight``, ``runners.tune.concurrency``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from raydt import preflight
from raydt.errors import InfeasibleResourcesError
from raydt.plan import TrainPlan, TunePlan, WorkerPlan


@dataclass(frozen=True)
class Shape:
    workers: WorkerPlan
    num_trials: int
    iterations: int | None
    at_once: int
    limit: str  # capacity | maxConcurrentTrials | numSamples | autoscaler | one run
    capacity: int
    reason: str
    memory: str
    fits: bool
    why: str
    hint: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def reserved(self) -> dict[str, float]:
        """What the run reserves at once: its trials' workers."""
        return {k: v * self.at_once for k, v in self.workers.total().items()}

    def trial(self) -> dict[str, Any]:
        """``plan.trial`` (camelCase)."""
        return {
            "workers": self.workers.num_workers,
            "resourcesPerWorker": self.workers.resources,
            "trialResources": self.workers.total(),
            "iterations": self.iterations,
        }

    def concurrency(self) -> dict[str, Any]:
        """``plan.concurrency`` (camelCase)."""
        return {"trialsAtOnce": self.at_once, "limit": self.limit, "capacity": self.capacity} | {
            "reason": self.reason,
            "memory": self.memory,
        }


def iterations(p: TrainPlan, searched: frozenset[str] = frozenset()) -> int | None:
    """Iterations (epochs) per trial when the spec fixes them: the loop's ``epochs`` (the built-in trainer's
    epochs key), unless the search varies it."""
    key = "epochs" if p.trainer is not None else p.framework.epochs_param
    value = p.loop_config.get(key)
    return value if isinstance(value, int) and key not in searched else None


def decide(the_plan: TrainPlan | TunePlan, status: dict[str, Any]) -> Shape:
    """The shape of ``the_plan`` on the cluster ``status`` describes."""
    if isinstance(the_plan, TunePlan):
        return _search(the_plan, status)
    w = the_plan.workers
    capacity = preflight.max_workers(w.resources, status) // max(w.num_workers, 1)
    shape = Shape(w, 1, iterations(the_plan), 1, "one run", capacity, "a train run is one trial", _memory(w, status),
                  True, f"{w.num_workers} worker(s) x {_fmt(w.resources)} fit")  # fmt: skip
    try:  # an elastic run must be able to start with its minimum (runners.train's admit)
        waiting = preflight.admit(
            replace(w, num_workers=w.min_workers or w.num_workers), status, the_plan.pending_timeout_s
        )
    except InfeasibleResourcesError as err:
        return replace(shape, fits=False, why=err.message, hint=err.hint)
    return replace(shape, notes=(waiting,) if waiting else ())


def _search(p: TunePlan, status: dict[str, Any]) -> Shape:
    from raydt.runners.tune.concurrency import plan_concurrency

    w = p.train.workers
    trials = p.num_trials
    searched = frozenset(p.train.framework.param_aliases.get(k, k) for k in p.search_space.members)
    capacity = preflight.max_workers(w.resources, status)
    capacity = capacity // w.num_workers if p.distributed else capacity
    base = Shape(w, trials, iterations(p.train, searched), 0, "capacity", capacity, "", _memory(w, status, p), True, "")
    try:
        conc = plan_concurrency(p, status)
    except InfeasibleResourcesError as err:
        return replace(base, reason="not even one trial fits", fits=False, why=err.message, hint=err.hint)
    bounds = (("maxConcurrentTrials", p.max_concurrent), ("numSamples", trials), ("capacity", capacity))
    limit = next((name for name, value in bounds if value == conc.running), "capacity")
    if status.get("autoscaler"):
        limit = "autoscaler"
    reason = (
        f"{conc.running} trial(s) at once: the target holds {capacity} trial(s) of {_fmt(w.total())}"
        f"{'' if p.max_concurrent is None else f', tuneConfig.maxConcurrentTrials is {p.max_concurrent}'}, "
        f"numSamples is {p.num_samples} ({trials} trial(s) in all); the lowest ({limit}) decides"
    )
    if limit == "autoscaler":
        reason = f"{conc.running} trial(s) at once: the cluster autoscales, so Tune starts trials as nodes come"
    fits = f"{trials} trial(s), {conc.running} at a time, each {w.num_workers} worker(s) x {_fmt(w.resources)}"
    return replace(base, at_once=conc.running, limit=limit, reason=reason, why=fits, notes=conc.notes)


def _memory(w: WorkerPlan, status: dict[str, Any], p: TunePlan | None = None) -> str:
    nodes = [int(n.get("memoryBytes") or 0) for n in status["nodes"]]
    have = f"the nodes have {sum(nodes) / 1e9:.2f} GB for tasks and actors (largest {max(nodes, default=0) / 1e9:.2f})"
    per = w.resources.get("memory", 0.0)
    if per:
        return f"each worker reserves {per / 1e9:g} GB (resourcesPerWorker.memoryGb), counted in the capacity; {have}"
    guard = ""
    if p is not None and p.max_concurrent is None and not status.get("autoscaler"):
        guard = "; while it runs, raydt's memory guard lowers the trials at once if a trial outgrows the nodes' memory"
    return f"no memory reserved (resourcesPerWorker.memoryGb unset): Ray places by CPU and GPU alone; {have}{guard}"


def _fmt(resources: dict[str, float]) -> str:
    shown = {k: (f"{v / 1e9:g} GB" if k == "memory" else f"{v:g}") for k, v in resources.items()}
    return "{" + ", ".join(f"{k}: {v}" for k, v in shown.items()) + "}"
