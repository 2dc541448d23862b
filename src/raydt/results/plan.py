"""The parts of a result about what a run costs and would do: ``results.cost`` (every train and tune run with
``config.costPerHour``) and ``plan`` (``raydt plan``: the trials, the target, whether it fits, the estimate)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from raydt.results.fields import Number, ResultModel, opt

UNIT_HELP = "raydt names no currency: every price and total is in the units config.costPerHour is given in."


class Cost(ResultModel):
    """What the run cost, or would cost, at ``config.costPerHour``."""

    per_hour: Number = Field(description="What one hour of the run costs: the prices x what they apply to (billed).")
    spent: Number | None = opt("results.cost: perHour x the measured wallTimeS / 3600.")
    estimated: Number | None = opt("raydt plan: perHour x the estimated wallTimeS / 3600 (null estimate: absent).")
    wall_time_s: Number | None = opt("The seconds priced: measured (results.cost) or estimated (raydt plan).")
    prices: dict[str, Number] = Field(description="config.costPerHour as {node} or {cpu, gpu}.")
    billed: dict[str, Number] = Field(
        description="What the prices apply to: {nodes} of the cluster, or the {cpu, gpu} the run reserves at once "
        "(workers x resourcesPerWorker x trials at once)."
    )
    unit: str = Field(description=UNIT_HELP)
    basis: str = Field(description="How it was computed: 'measured wall time x reserved resources' for a run.")


class PlanTarget(ResultModel):
    """Where the run would go, and what it has."""

    kind: Literal["embedded", "address", "k8s"] = Field(
        description="embedded: the Ray this machine starts for the run; address: a running cluster (--address, "
        "config.address, RAY_ADDRESS or `raydt cluster up`'s); k8s: the KubeRay cluster `raydt k8s` would write."
    )
    address: str | None = opt("The cluster's address (kind address).")
    num_nodes: int = Field(description="Nodes (k8s: the head plus the worker pods).")
    total_cpu: Number = Field(description="CPUs Ray sees in all.")
    total_gpu: Number = Field(description="GPUs Ray sees in all.")
    memory_bytes: int = Field(description="Ray's 'memory' resource in all (bytes), what tasks and actors may use.")
    autoscaling: bool = Field(description="The cluster can add nodes (requests that do not fit now wait).")
    about: str = Field(description="Where these figures come from.")


class TrialShape(ResultModel):
    """One trial (a train run is one trial): its workers and what they reserve."""

    workers: int = Field(description="Training workers per trial (the most, for an elastic run).")
    resources_per_worker: dict[str, Number] = Field(description="Ray resources each worker reserves.")
    trial_resources: dict[str, Number] = Field(description="What one trial reserves in all.")
    iterations: int | None = Field(description="Iterations (epochs) per trial when the spec fixes them, else null.")


class PlanConcurrency(ResultModel):
    """How many trials run at once, and what limits it."""

    trials_at_once: int = Field(description="Trials (or the one train run) that run at the same time.")
    limit: Literal["capacity", "maxConcurrentTrials", "numSamples", "autoscaler", "one run"] = Field(
        description="What sets it: the cluster's capacity, tuneConfig.maxConcurrentTrials, the number of trials, an "
        "autoscaling cluster (maxConcurrentTrials or every trial), or a train run (one)."
    )
    capacity: int = Field(description="Trials the target's nodes hold at once (0: not even one).")
    reason: str = Field(description="Why, in words.")
    memory: str = Field(description="Memory: what is reserved per trial, and what guards it when nothing is.")


class PlanEstimate(ResultModel):
    """Wall time: waves = ceil(numTrials / trialsAtOnce), each startup + iterations x per-iteration time."""

    wall_time_s: Number | None = Field(description="The estimate in seconds; null when nothing to base it on.")
    basis: Literal["probe", "history", "none"] = Field(
        description="probe: a short run of one trial on the target (--probe); history: the earlier runs of the "
        "same experiment (its folder); none: no estimate."
    )
    low_s: Number | None = opt("The low end: per-trial start-up paid once, not in every wave.")
    high_s: Number | None = opt("The high end: the estimate (early stopping by the scheduler is ignored).")
    waves: int | None = opt("ceil(numTrials / trialsAtOnce).")
    startup_s: Number | None = opt("Measured once per run: Ray, the driver and the first trial's start.")
    trial_startup_s: Number | None = opt("Measured per trial: its first iteration beyond a later one.")
    per_iteration_s: Number | None = opt("Measured seconds per iteration (epoch).")
    note: str = Field(description="How it was made and what it leaves out.")


class PlanFit(ResultModel):
    """Whether the run fits its target."""

    fits: bool = Field(description="true: it can run there; false: it cannot (exit 2).")
    reason: str = Field(description="Why (what fits at once; or what does not fit, with the figures).")
    hint: str | None = opt("What to change when it does not fit.")


class PlanInfo(ResultModel):
    """``raydt plan``: what the run would do, without running it."""

    target: PlanTarget = Field(description="Where it would run and what that has.")
    trial: TrialShape = Field(description="Each trial's workers and resources.")
    num_trials: int = Field(description="Trials the run creates: numSamples x grid points (1 for a train run).")
    concurrency: PlanConcurrency = Field(description="Trials at once and why.")
    fit: PlanFit = Field(description="Whether it fits.")
    estimate: PlanEstimate = Field(description="Wall time.")
    cost: Cost | None = opt(f"config.costPerHour: the estimated cost. {UNIT_HELP}")
    notes: list[str] = Field(description="What else matters: autoscaler waits, lowered caps, the memory guard.")
