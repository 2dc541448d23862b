"""Result keys of ``raydt.utilisation``: what trials and training workers used of what they reserved
(``results.utilisation``, ``trials[].utilisation``)."""

from __future__ import annotations

from pydantic import Field

from raydt.results.fields import Number, ResultModel, opt

UTILISATION_HELP = (
    "What the trials' or training workers' processes used of what they reserved, sampled inside each process "
    "while its loop ran (the driver and Ray Data's processes are not counted); the warnings say what to change."
)


class Usage(ResultModel):
    """Used against reserved, over some worker processes (one trial, one worker rank, or the whole run)."""

    processes: int = Field(description="Worker processes sampled (a retried trial or restarted worker adds one).")
    worker_seconds: Number = Field(description="Seconds their loops ran, added up.")
    cpus_per_worker: Number = Field(description="CPUs each worker reserved (config.resourcesPerWorker.cpu).")
    cpu_seconds_used: Number = Field(description="CPU time the processes (and their children) used.")
    cpu_seconds_reserved: Number = Field(description="cpusPerWorker x the seconds each loop ran, added up.")
    cpu_fraction: Number | None = opt("cpuSecondsUsed / cpuSecondsReserved (absent when no CPU was reserved).")
    peak_memory_gb: Number = Field(description="The highest peak RSS of one worker process with its children (1e9 B).")
    memory_gb_reserved: Number | None = opt("The memory each worker reserved (config.resourcesPerWorker.memoryGb).")
    memory_fraction: Number | None = opt("peakMemoryGb / memoryGbReserved.")
    gpus_per_worker: Number | None = opt("GPUs each worker reserved (with GPU figures only).")
    gpu_utilisation: Number | None = opt("NVML's busy fraction of the workers' GPUs, averaged over the time sampled.")
    peak_gpu_memory_gb: Number | None = opt("The highest GPU memory one worker's processes held (NVML).")


class WorkerUsage(Usage):
    """One worker rank of a train run."""

    rank: int = Field(description="The worker's rank in the Ray Train run.")


class RunUsage(Usage):
    """The whole run; a train run adds one row per worker rank (a search has its rows in trials[].utilisation)."""

    workers: list[WorkerUsage] | None = opt("Train mode: each worker rank's figures.")
