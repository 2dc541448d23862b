"""The GPU figures of one worker: NVML's view of the GPUs Ray gave it (``ray.get_gpu_ids``), sampled with the rest.

Utilisation is NVML's device-wide busy fraction (a GPU shared by fractional workers shows them all); memory is
what NVML lists for this worker's processes, or, when it lists none of them (a container sees other pids than
the host's NVML) and the worker holds whole GPUs, the devices' used memory. No GPU or no NVML: no probe, and
the record has no ``gpu`` key.
"""

from __future__ import annotations

import os
from typing import Any

from raydt.utilisation.sampler import GpuProbe


def assigned_gpus() -> list[str]:
    """The GPUs this worker may use: Ray's assignment, else ``CUDA_VISIBLE_DEVICES``."""
    try:
        import ray

        ids = [str(i) for i in ray.get_gpu_ids()] if ray.is_initialized() else []
    except Exception:  # noqa: BLE001 - not a Ray worker
        ids = []
    if not ids:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
        ids = [i.strip() for i in visible.split(",") if i.strip() and i.strip() != "-1"]
    return ids


class NvmlProbe:
    """Busy fraction (mean over the devices) and bytes used by the worker's processes, per sample."""

    def __init__(self, nvml: Any, handles: list[Any], exclusive: bool) -> None:
        self.nvml, self.handles, self.exclusive = nvml, handles, exclusive

    def __call__(self, pids: list[int]) -> tuple[float, int] | None:
        nvml, mine = self.nvml, set(pids)
        try:
            busy = sum(nvml.nvmlDeviceGetUtilizationRates(h).gpu for h in self.handles) / 100 / len(self.handles)
            used, found = 0, False
            for h in self.handles:
                for proc in nvml.nvmlDeviceGetComputeRunningProcesses(h):
                    if proc.pid in mine:
                        used, found = used + int(proc.usedGpuMemory or 0), True
            if not found and self.exclusive:
                used = sum(int(nvml.nvmlDeviceGetMemoryInfo(h).used) for h in self.handles)
        except Exception:  # noqa: BLE001 - a driver hiccup: this sample has no GPU figures
            return None
        return busy, used


def probe(gpus_per_worker: float) -> GpuProbe | None:
    """An NVML probe of this worker's GPUs, or None (no GPU reserved or visible, no NVML)."""
    ids = assigned_gpus() if gpus_per_worker > 0 else []
    if not ids:
        return None
    from raydt.ray_compat import nvml as binding

    nvml = binding()
    if nvml is None:
        return None
    try:
        nvml.nvmlInit()
        by_uuid, by_index = nvml.nvmlDeviceGetHandleByUUID, nvml.nvmlDeviceGetHandleByIndex
        handles = [by_uuid(i) if i.startswith(("GPU-", "MIG-")) else by_index(int(i)) for i in ids]
    except Exception:  # noqa: BLE001 - no driver, or an id NVML does not know
        return None
    return NvmlProbe(nvml, handles, exclusive=gpus_per_worker >= 1)
