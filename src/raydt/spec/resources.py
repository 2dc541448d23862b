"""``config`` and ``trainConfig.scalingConfig``: how many workers, and what each one reserves. Never imports Ray.

``trainConfig.scalingConfig`` may carry ``numWorkers``, ``useGpu`` and ``resourcesPerWorker`` instead of
``config`` (a value given in both places must agree: ``spec.checks``), plus Ray's ``placementStrategy`` and
``acceleratorType``. Both are typed here, with the same strict types, so ``"useGpu": "false"`` is refused at
its path in either place; ``plan.workers`` reads the typed fields.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field

from raydt.spec.strict import MAX_RESOURCE, MAX_WORKERS, StrictModel

#: Ray's placement group strategies (``ScalingConfig.placement_strategy``).
PLACEMENT_STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")


class Resources(StrictModel):
    """Resources one worker reserves (Ray logical resources)."""

    cpu: float | None = Field(
        None, ge=0, le=MAX_RESOURCE, description="CPUs per worker (default 1; 0 only with a GPU)."
    )
    gpu: float | None = Field(
        None, ge=0, le=MAX_RESOURCE, description="GPUs per worker (default 1 when useGpu, else 0)."
    )
    memory_gb: float | None = Field(
        None, gt=0, le=MAX_RESOURCE, description="Heap memory reserved per worker, in GB (Ray's 'memory')."
    )
    custom: dict[str, float] = Field(
        default_factory=dict, description='Custom Ray resources per worker, e.g. {"tpu_slice": 1}.'
    )


class WorkerRange(StrictModel):
    """An elastic worker count: Ray Train runs with as many as fit, between min and max."""

    min: int = Field(ge=1, le=MAX_WORKERS)
    max: int = Field(ge=1, le=MAX_WORKERS)


class CostPrices(StrictModel):
    """``config.costPerHour`` as prices per resource: per node, or per CPU and/or per GPU, each per hour."""

    node: float | None = Field(None, ge=0, le=1e9, description="Price of one node for one hour.")
    cpu: float | None = Field(None, ge=0, le=1e9, description="Price of one reserved CPU for one hour.")
    gpu: float | None = Field(None, ge=0, le=1e9, description="Price of one reserved GPU for one hour.")


COST_HELP = (
    "What an hour costs, in your own currency (raydt names none: figures are in units of costPerHour): a number is "
    "the price of one node for one hour; {node} the same; {cpu, gpu} a price per reserved CPU and per reserved GPU "
    "for one hour. `raydt plan` prints the estimated cost; every train and tune result carries results.cost."
)


class ClusterConfig(StrictModel):
    """``config``: where to run and what each worker gets."""

    num_workers: Annotated[int, Field(ge=1, le=MAX_WORKERS)] | WorkerRange = Field(
        1,
        description="Training workers (Ray Train actors), or {min, max} for elastic training (mode train).",
    )
    use_gpu: bool = Field(False, description="Give each worker GPUs (resourcesPerWorker.gpu, default 1).")
    resources_per_worker: Resources = Field(default_factory=Resources)
    address: str | None = Field(
        None,
        min_length=1,
        description="Existing Ray cluster: 'host:port', 'ray://host:10001' or 'auto'. "
        "Default: RAY_ADDRESS, else an embedded local Ray.",
    )
    ray_init: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra keyword arguments passed as-is to ray.init() (e.g. num_cpus, runtime_env).",
    )
    autoscaling: bool | None = Field(
        None,
        description="Whether the cluster's autoscaler can add nodes. Default: detected from Ray's autoscaler "
        "state. When true, a request the current nodes cannot hold waits (up to runConfig.pendingTimeoutS) "
        "instead of failing at once.",
    )
    cost_per_hour: Annotated[float, Field(ge=0, le=1e9)] | CostPrices | None = Field(None, description=COST_HELP)


class ScalingConfig(StrictModel):
    """``trainConfig.scalingConfig``: Ray ScalingConfig options in camelCase (null or left out: not set)."""

    UNKNOWN_KEY: ClassVar[str] = "unknown ScalingConfig key"

    num_workers: int | None = Field(
        None, ge=1, le=MAX_WORKERS, description="Same as config.numWorkers (a fixed count); set it in one place."
    )
    use_gpu: bool | None = Field(None, description="Same as config.useGpu; set it in one place.")
    resources_per_worker: Resources | None = Field(
        None, description="Same as config.resourcesPerWorker; set it in one place."
    )
    placement_strategy: Annotated[str, Field(json_schema_extra={"enum": list(PLACEMENT_STRATEGIES)})] | None = Field(
        None, description=f"Ray's placement strategy of the workers: {' | '.join(PLACEMENT_STRATEGIES)} (default PACK)."
    )
    accelerator_type: str | None = Field(
        None, min_length=1, description="e.g. 'A100': the accelerator every worker needs (a cluster that labels it)."
    )
