"""The sentence and the fix of one cause, with what its lines say: how many trials it ended, the memory Ray's
OOM killer saw and on which node, the module the workers could not import."""

from __future__ import annotations

import math
import re
from typing import Any

from raydt.errors import WorkerOOMError

_USED = re.compile(r"memory used=([\d.]+)\s*GB")
_NODE = re.compile(r"Memory on the node \(IP: ([\w.:]+)")
#: the actors that run the training loop: Ray Train's workers, a 1-worker run's actor (runners.solo), a Tune trial
_TRAINING_ACTORS = ("RayTrainWorker", "SoloWorker", "ImplicitFunc", "train_fn", "trainable")
_MODULE = re.compile(r"No module named '([^']+)'")
_DISK_FULL = ("OutOfDiskError", "Local disk is full")
#: gloo's "Timed out waiting 3000ms for recv operation", NCCL's watchdog "ran for 600030 milliseconds"
_WAITED = re.compile(r"Timed out waiting (\d+)\s*ms|ran for (\d+) milliseconds")


def detail(
    code: str, label: str, hits: list[Any], counts: tuple[int, int, int], total: int | None, fix: str
) -> tuple[str, str]:
    """(summary, fix) of a cause; ``counts``: the units (trials, or the run) it ended, the trials retried after it,
    and how often a train run was restarted after it (Ray Train's workers, from the last checkpoint)."""
    ended, retried, restarts = counts
    texts = [h.raw or h.text for h in hits]
    if total is not None and ended:
        summary = f"{ended} of {total} trial(s) {label}"
    elif total is None and ended:
        summary = f"the run {label}"
    elif retried:
        summary = f"{retried} trial(s) {label} and were retried"
    elif restarts:
        summary = f"the run {label} and was restarted from its last checkpoint ({restarts} time(s))"
    else:
        summary = f"the logs also show that a process {label} ({len(hits)} line(s))"
    if total is not None and ended and retried:
        summary += f"; {retried} trial(s) were retried after it"
    if ended and restarts:
        summary += f"; the run had been restarted after it {restarts} time(s) before"
    if code == WorkerOOMError.code:
        trainers = [t for t in texts if any(w in t for w in _TRAINING_ACTORS)]  # not Ray's own helper actors
        used = [float(m) for t in trainers or texts for m in _USED.findall(t)]
        nodes = sorted({m for t in texts for m in _NODE.findall(t)})
        if nodes:
            summary += f" on node {', '.join(nodes)}"
        if used:
            per = max(used)
            summary += f"; memory per worker ~{per:.1f} GB"
            fix = (
                f"Set config.resourcesPerWorker.memoryGb: {math.ceil(per * 1.25)} so Ray places only what fits, "
                f"or lower tuneConfig.maxConcurrentTrials. " + fix
            )
    if code == "MODULE_NOT_FOUND_ON_WORKERS":
        modules = sorted({m for t in texts for m in _MODULE.findall(t)})
        if modules:
            summary += f" ({', '.join(modules)})"
            fix = f"{', '.join(repr(m) for m in modules)} cannot be imported where the trainer runs. " + fix
    if code == "OBJECT_STORE_FULL" and any(w in t for t in texts for w in _DISK_FULL):
        summary += " and the disk it spills to counts as full (OutOfDiskError)"
        fix = (
            "Ray could neither keep the object in memory nor spill it: free disk where Ray spills (its temp dir, "
            "or object_spilling_config's directory; Ray stops at RAY_local_fs_capacity_threshold, 95% by "
            "default). " + fix
        )
    if code == "COLLECTIVE_TIMEOUT":
        waited = sorted({int(a or b) for t in texts for a, b in _WAITED.findall(t)})
        if waited:
            summary += f" after waiting {waited[-1]} ms"
            fix = (
                f"A rank waited {waited[-1]} ms in a collective another rank never joined: every rank must make "
                "the same collective calls in the same order (no rank-dependent early exit, skipped step or "
                "uneven batch count). " + fix
            )
    return summary, fix
