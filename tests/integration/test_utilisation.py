"""Where the resources went, on real Ray: a search of two trials that each reserve 2 CPUs (and 0.4 GB), one keeping
one thread busy and one holding 300 MB, gets the figures and the warnings that say what to change."""

from __future__ import annotations

from pathlib import Path

import pytest

import raydt
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_a_busy_thread_and_a_known_allocation_are_measured_in_their_trials(shared_ray: None, tmp_path: Path) -> None:
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 2, "memoryGb": 0.4}},
        "trainConfig": {"trainerPath": f"{ROOT}/tests/fixtures/usage_functions.py:known_use"},
        "tuneConfig": {
            "searchSpace": {"job": {"type": "grid", "values": ["busy", "alloc"]}, "mb": 300, "seconds": 2.0},
            "metric": "score",
            "mode": "min",
        },
        "runConfig": {"storagePath": str(tmp_path)},
    }
    out = raydt.run(spec)
    assert out["status"] == "success", out
    rows = {t["config"]["job"]: t["utilisation"] for t in out["trials"]}
    busy, alloc = rows["busy"], rows["alloc"]
    assert busy["cpusPerWorker"] == 2 and busy["workerSeconds"] >= 2.0
    assert 0.3 <= busy["cpuFraction"] <= 0.6, busy  # one thread of the two CPUs reserved
    assert alloc["cpuFraction"] < 0.25, alloc  # it mostly slept
    assert 0.25 <= alloc["peakMemoryGb"] - busy["peakMemoryGb"] <= 0.45, rows  # the 300 MB block
    assert alloc["memoryGbReserved"] == 0.4 and alloc["memoryFraction"] > 0.9
    run = out["results"]["utilisation"]
    assert run["processes"] == 2 and run["peakMemoryGb"] == alloc["peakMemoryGb"]
    assert run["cpuSecondsUsed"] == pytest.approx(busy["cpuSecondsUsed"] + alloc["cpuSecondsUsed"], abs=0.002)
    warnings = out["warnings"]
    cpu = [w for w in warnings if w.startswith("trials used")]
    assert cpu and cpu[0].endswith(
        "% of the 2 CPUs each reserved: set config.resourcesPerWorker.cpu to 1 and run twice as many at once"
    ), warnings
    assert any(
        w.startswith("peak memory ") and "GB of 0.4: raise config.resourcesPerWorker.memoryGb" in w for w in warnings
    )
