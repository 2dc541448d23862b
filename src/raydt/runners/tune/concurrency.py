"""How many trials a search runs at once: what fits in the cluster's resources, before anything starts.

Pure (a plan and a cluster status in, a decision out); ``runners.tune.memory`` lowers it later when the
trials turn out bigger than the nodes' memory holds.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from raydt import plan, preflight
from raydt.errors import InfeasibleResourcesError
from raydt.plan import TunePlan
from raydt.registry import SCHEDULERS


@dataclasses.dataclass(frozen=True)
class Concurrency:
    """How many trials run at once, and whether trial *creation* is capped too."""

    running: int  # trials that fit at once (or fewer, when maxConcurrentTrials asks so)
    cap_creation: bool  # True: Tune creates no more trials than ``running`` (Ray's max_concurrent_trials)
    notes: tuple[str, ...] = ()  # warnings for the result and the live view


def plan_concurrency(p: TunePlan, status: dict[str, Any]) -> Concurrency:
    """Trials that fit at once, and warnings (an autoscaler must add nodes first; a lowered cap).

    A trial that can never fit is an error now, not a silent wait. Schedulers that keep a population or
    brackets (pbt, pb2, hyperband) need every sample to exist, pending or paused, while only what fits
    runs: there Tune's resource accounting alone gates the running trials and creation is not capped.
    """
    workers = p.train.workers
    trials = p.num_trials
    if p.distributed:
        waiting = preflight.admit(workers, status, p.train.pending_timeout_s)
        # each trial's own process asks for no CPU (runners.trials.TRIAL_DRIVER): the workers are what counts
        capacity = preflight.max_workers(workers.resources, status) // workers.num_workers
    else:
        single = plan.WorkerPlan(1, workers.use_gpu, workers.resources)
        waiting = preflight.admit(single, status, p.train.pending_timeout_s)
        capacity = preflight.max_workers(workers.resources, status)
    notes = [waiting] if waiting else []
    population = SCHEDULERS[p.scheduler].pauses_trials
    if status.get("autoscaler"):  # new nodes raise the capacity; Tune starts trials as they fit
        running = max(1, min(p.max_concurrent or trials, trials))
        return Concurrency(running, p.max_concurrent is not None or not population, tuple(notes))
    if capacity < 1:
        raise InfeasibleResourcesError(
            f"one trial needs {workers.num_workers} worker(s) x {workers.resources}; the cluster cannot hold that",
            hint="Lower config.resourcesPerWorker or config.numWorkers, or add nodes.",
        )
    if p.max_concurrent is not None and p.max_concurrent > capacity:
        notes.append(
            f"tuneConfig.maxConcurrentTrials is {p.max_concurrent} but only {capacity} trial(s) fit in the cluster "
            f"at once ({workers.num_workers} worker(s) x {workers.resources} each): running {capacity} at a time"
        )
    running = max(1, min(p.max_concurrent or capacity, capacity, trials))
    if not population:
        return Concurrency(running, True, tuple(notes))
    if p.distributed:
        # a distributed trial's worker group is outside Tune's resource accounting (the trial's own process
        # asks for no CPU), so creation stays capped (Ray's advice for Train inside Tune)
        notes.append(
            f"'{p.scheduler}' with distributed trials: only {running} trial(s) exist at once (their worker "
            f"groups are outside Tune's resource accounting), so its brackets/population hold {running} trial(s)"
        )
        return Concurrency(running, True, tuple(notes))
    if p.max_concurrent is not None:
        notes.append(
            f"tuneConfig.maxConcurrentTrials ({p.max_concurrent}) caps the trials alive at once, paused ones "
            f"included: '{p.scheduler}' works on a population of {running}; leave it out to let all "
            f"{p.num_samples} samples exist while {capacity} run"
        )
        return Concurrency(running, True, tuple(notes))
    return Concurrency(running, False, tuple(notes))
