"""Memory-aware concurrency on a real local Ray: trials bigger than the nodes' memory holds run fewer at once.

The search runs as a real ``raydt run`` process with its own embedded Ray whose ``memory`` resource is
small (``config.rayInit._memory``): CPUs would let 4 trials run at once, the memory only 2 or so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, assert_seed_output, run_cli

pytestmark = pytest.mark.slow

MEMORY = 1_600_000_000  # Ray's 'memory' resource of the node: about two trials of ~0.7 GB


def overlap(intervals: list[tuple[float, float]], after: float) -> int:
    """The most intervals alive at once among those that started after ``after``."""
    starts = [s for s, _ in intervals if s > after]
    return max((sum(1 for s, e in intervals if s <= t < e) for t in starts), default=0)


def test_trials_bigger_than_memory_run_fewer_at_once_and_the_result_says_why(
    tmp_path: Path, no_session_cluster: Path
) -> None:
    """An embedded Ray of its own: the node's memory resource is what the spec's rayInit gives it."""
    trace = tmp_path / "trace"
    trace.mkdir()
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 0.5}, "rayInit": {"num_cpus": 2, "_memory": MEMORY}},
        "trainConfig": {"trainerPath": f"{ROOT}/tests/fixtures/tune_functions.py:holds_memory"},
        "tuneConfig": {
            "searchSpace": {
                "lr": {"type": "uniform", "min": 0.0, "max": 1.0},
                "mb": 500,
                "steps": 4,
                "sleep": 0.5,
                "trace": str(trace),
            },
            "metric": "score",
            "mode": "min",
            "searchAlgorithm": "random",
            "scheduler": "fifo",  # every trial runs to its end (its end time is what the test reads)
            "numSamples": 8,
            "seed": 0,
        },
        "runConfig": {"storagePath": str(tmp_path)},
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    res = run_cli("run", str(tmp_path / "spec.json"), "--quiet")
    out = res.out
    assert_seed_output(out)
    assert out["status"] == "success", out
    assert out["results"]["completedTrials"] == 8
    notes = [w for w in out.get("warnings", []) if "nodes' memory" in w]
    assert notes, out.get("warnings")
    found = re.search(r"used up to ([\d.]+) GB .* running at most (\d+) trial\(s\) at once instead of 4", notes[0])
    assert found, notes[0]
    size, cap = float(found.group(1)) * 1e9, int(found.group(2))
    assert size > 500e6  # the 500 MB the trial holds, and the process around it
    assert cap == max(1, int(MEMORY // size)) and out["maxConcurrentTrials"] <= cap < 4
    runs = [
        (float((trace / f"{t}.start").read_text()), float((trace / f"{t}.end").read_text()))
        for t in (p.name.removesuffix(".start") for p in trace.glob("*.start"))
    ]
    first_end = min(e for _, e in runs)
    # the first wave started on CPUs alone; once a trial was measured, no more than the cap ran at once
    assert overlap(runs, after=first_end) <= out["maxConcurrentTrials"]


@pytest.mark.e2e  # a second embedded Ray and 2 x 300 MB workers: `make test-e2e` (docs/testing.md)
def test_a_distributed_trial_counts_its_ray_train_workers(tmp_path: Path, no_session_cluster: Path) -> None:
    """The workers are Ray actors, not the trial's children: found by the titles Ray gives their processes
    (``tune_memory.TRAIN_TITLES``; this test fails when Ray changes them)."""
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 0.5}, "rayInit": {"num_cpus": 2, "_memory": MEMORY}},
        "trainConfig": {"trainerPath": f"{ROOT}/tests/fixtures/trainers.py:holds_memory"},
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "uniform", "min": 0.0, "max": 1.0}, "mb": 300, "steps": 4},
            "metric": "score",
            "mode": "min",
            "searchAlgorithm": "random",
            "scheduler": "fifo",
            "numSamples": 2,
        },
        "runConfig": {"storagePath": str(tmp_path)},
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    out = run_cli("run", str(tmp_path / "spec.json"), "--quiet").out
    assert out["status"] == "success", out
    notes = [w for w in out.get("warnings", []) if "nodes' memory" in w]
    found = re.search(r"used up to ([\d.]+) GB", notes[0]) if notes else None
    assert found, out.get("warnings")
    assert float(found.group(1)) * 1e9 > 2 * 300e6  # both workers counted
    assert out["maxConcurrentTrials"] == 1
