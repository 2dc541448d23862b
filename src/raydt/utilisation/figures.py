"""The records of a run, read back in the driver (or by ``raydt report``) and summed: used vs reserved, per trial,
per worker and for the run, and what to change when the difference is clear. Ray-free.

- CPU: ``cpuSecondsUsed`` (the processes' own CPU time, children included) against ``cpuSecondsReserved``
  (the CPUs each worker reserved x the seconds its loop ran); ``cpuFraction`` is their ratio.
- Memory: ``peakMemoryGb``, the highest peak RSS of one worker process (with its children), against the
  ``memoryGbReserved`` of one worker (config.resourcesPerWorker.memoryGb, when set). GB are 1e9 bytes, as memoryGb.
- GPU (when sampled): NVML's busy fraction, averaged over the seconds sampled, and the peak GPU memory of one worker.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from typing import Any

from raydt.utilisation.sampler import FORMAT

GB = 1e9
#: a warning needs this much evidence: loops that ran a second or more in all
MIN_WALL_S = 1.0
LOW_CPU, HIGH_MEMORY, LOW_GPU = 0.5, 0.9, 0.3


def read(folder: str | os.PathLike[str], since: float | None = None) -> list[dict[str, Any]]:
    """Every record in ``folder`` (``<experiment>/raydt_usage``); ``since``: only those started then or later."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    out = []
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("format") == FORMAT and (since is None or doc["startedAt"] >= since):
            out.append(doc)
    return out


def _round(value: float, digits: int = 3) -> float:
    return round(value, digits)


def summary(records: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """Used vs reserved over ``records`` (camelCase, as ``results.utilisation`` prints it); None: none."""
    rows = list(records)
    if not rows:
        return None
    used = sum(r["cpuSeconds"] for r in rows)
    reserved = sum(r["reserved"]["cpu"] * r["wallSeconds"] for r in rows)
    peak = max(r["peakRssBytes"] for r in rows)
    out: dict[str, Any] = {
        "processes": len(rows),
        "workerSeconds": _round(sum(r["wallSeconds"] for r in rows)),
        "cpusPerWorker": max(r["reserved"]["cpu"] for r in rows),
        "cpuSecondsUsed": _round(used),
        "cpuSecondsReserved": _round(reserved),
        "peakMemoryGb": _round(peak / GB),
    }
    if reserved > 0:
        out["cpuFraction"] = _round(used / reserved)
    memory = max((r["reserved"].get("memoryBytes") or 0 for r in rows), default=0)
    if memory:
        out["memoryGbReserved"] = _round(memory / GB)
        out["memoryFraction"] = _round(peak / memory)
    gpus = [r for r in rows if r.get("gpu")]
    if gpus:
        wall = sum(r["wallSeconds"] for r in gpus) or 1.0
        out["gpusPerWorker"] = max(r["reserved"]["gpu"] for r in gpus)
        out["gpuUtilisation"] = _round(sum(r["gpu"]["utilisation"] * r["wallSeconds"] for r in gpus) / wall)
        out["peakGpuMemoryGb"] = _round(max(r["gpu"]["peakMemoryBytes"] for r in gpus) / GB)
    return out


def by_owner(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One summary per trial id (or ``train``)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(str(r["owner"]), []).append(r)
    return {owner: s for owner, rows in groups.items() if (s := summary(rows)) is not None}


def by_rank(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary per worker rank of a train run (a restarted worker's processes add up), by rank."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(int(r["rank"]), []).append(r)
    return [{"rank": rank, **(summary(rows) or {})} for rank, rows in sorted(groups.items())]


def _times(k: float) -> str:
    return "twice" if k == 2 else f"{k:g} times"


def _gb(value: float) -> str:
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def advice(records: list[dict[str, Any]], mode: str) -> list[str]:
    """Warnings that name the change to make, only where the figures say it clearly: CPUs mostly idle with 2 or
    more reserved per worker, peak memory above 90 % of memoryGb, GPUs mostly idle in a search."""
    s = summary(records)
    if s is None:
        return []
    out = []
    who = "trials" if mode == "tune" and max(int(r["rank"]) for r in records) == 0 else "training workers"
    cpus = float(s["cpusPerWorker"])
    long_enough = s["workerSeconds"] >= MIN_WALL_S
    if long_enough and cpus >= 2 and s.get("cpuFraction", 1.0) < LOW_CPU:
        # the busiest process's average CPUs in use, rounded up (a tenth of a CPU forgiven)
        busiest = max(r["cpuSeconds"] / r["wallSeconds"] for r in records if r["wallSeconds"] > 0)
        enough = max(1, math.ceil(busiest - 0.1))
        if enough < cpus:
            more = _times(round(cpus / enough, 2))
            at_once = "run " + more + " as many at once" if mode == "tune" else (
                f"the same CPUs then hold {more} as many workers (config.numWorkers)"
            )  # fmt: skip
            out.append(
                f"{who} used {s['cpuFraction'] * 100:.0f} % of the {cpus:g} CPUs each reserved: "
                f"set config.resourcesPerWorker.cpu to {enough} and {at_once}"
            )
    if s.get("memoryFraction", 0.0) > HIGH_MEMORY:
        peak, reserved = s["peakMemoryGb"], s["memoryGbReserved"]
        room = math.ceil(peak * 1.25 * 10) / 10
        out.append(
            f"peak memory {_gb(peak)} GB of {reserved:g}: raise config.resourcesPerWorker.memoryGb "
            f"(to about {room:g}) before a larger batch"
        )
    gpus = float(s.get("gpusPerWorker", 0.0))
    if mode == "tune" and long_enough and gpus >= 1 and s.get("gpuUtilisation", 1.0) < LOW_GPU:
        out.append(
            f"trials kept their GPUs busy {s['gpuUtilisation'] * 100:.0f} % of the time: set "
            f"config.resourcesPerWorker.gpu to {gpus / 2:g} and run twice as many at once"
        )
    return out
