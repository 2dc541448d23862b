"""The memory guard's measuring and its decisions (real processes and /proc; no Ray cluster)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from raydt import plan
from raydt.progress import ProgressView
from raydt.runners.tune.concurrency import plan_concurrency
from raydt.runners.tune.memory import MemoryGuard, guard_for, private_bytes, process_tree, trials_fit
from raydt.spec import loader
from tests.unit.test_tune_concurrency import TWO_CPUS, tune_plan

GB = 1_000_000_000


class Limiter:
    """What the guard changes: Tune's ConcurrencyLimiter and BasicVariantGenerator both have this attribute."""

    def __init__(self, cap: int) -> None:
        self.max_concurrent = cap


def test_a_process_holding_memory_measures_at_least_that() -> None:
    code = (
        "b = bytearray(200 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1\nprint('ok', flush=True)\ninput()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ok"
        assert private_bytes(proc.pid) >= 200 * 1024 * 1024
        assert proc.pid in process_tree(os.getpid())  # children are found through /proc
    finally:
        proc.kill()
        proc.wait()
    assert private_bytes(proc.pid) == 0  # gone: nothing, not an error


def test_trials_fit_counts_per_node() -> None:
    assert trials_fit([3 * GB, 3 * GB], int(1.4 * GB)) == 4  # 2 on each node, not 6 / 1.4 = 4.28 -> 4 by luck
    assert trials_fit([3 * GB, 1 * GB], int(1.4 * GB)) == 2
    assert trials_fit([1 * GB], 2 * GB) == 0


def test_the_cap_goes_down_once_trials_outgrow_the_memory_and_never_up() -> None:
    guard = MemoryGuard(4, [2 * GB], ProgressView(), distributed=False, adjustable=True)
    limiter = guard.attach(Limiter(4))
    guard.observe(400_000_000, running=4)  # 5 fit: nothing to do
    assert limiter.max_concurrent == 4 and not guard.notes
    guard.observe(700_000_000, running=4)
    assert limiter.max_concurrent == guard.cap == 2
    assert "used up to 0.70 GB" in guard.notes[0] and "at most 2 trial(s) at once instead of 4" in guard.notes[0]
    assert "memoryGb" in guard.notes[0]
    guard.observe(300_000_000, running=2)  # smaller than the peak: the cap stays
    assert limiter.max_concurrent == 2 and len(guard.notes) == 1
    guard.observe(3 * GB, running=2)  # bigger than a node: one at a time, said so
    assert limiter.max_concurrent == 1 and "holds 0 such trial(s)" in guard.notes[-1]


def test_when_every_sample_exists_already_the_guard_only_warns_once() -> None:
    guard = MemoryGuard(4, [2 * GB], ProgressView(), distributed=False, adjustable=False)
    limiter = guard.attach(Limiter(0))
    guard.observe(700_000_000, running=4)
    guard.observe(900_000_000, running=4)
    assert limiter.max_concurrent == 0 and len(guard.notes) == 1
    assert "scheduler keeps every sample alive" in guard.notes[0]


def memory_plan(resources: dict[str, Any], **tc: Any) -> Any:
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": resources},
        "trainConfig": {"epochs": 2},
        "tuneConfig": {"searchSpace": {"lr": {"type": "uniform", "min": 0.001, "max": 0.1}}, "numSamples": 8, **tc},
    }
    return plan.tune(loader.load(spec))


@pytest.mark.parametrize(
    ("resources", "extra", "guarded"),
    [
        ({"cpu": 1}, {}, True),
        ({"cpu": 1, "memoryGb": 1}, {}, False),  # memory reserved: Ray's scheduler counts it
        ({"cpu": 1}, {"maxConcurrentTrials": 2}, False),  # the user's own cap
    ],
)
def test_the_guard_watches_only_concurrency_raydt_chose(
    resources: dict[str, Any], extra: dict[str, Any], guarded: bool
) -> None:
    p = memory_plan(resources, **extra)
    conc = plan_concurrency(p, TWO_CPUS)
    assert (guard_for(p, conc, TWO_CPUS, ProgressView()) is not None) is guarded


def test_no_guard_on_an_autoscaling_cluster() -> None:
    p = tune_plan("asha")
    scaling = {**TWO_CPUS, "autoscaler": {"version": "v2"}}
    assert guard_for(p, plan_concurrency(p, scaling), scaling, ProgressView()) is None
