"""Two runs sent to the session cluster at once, each reserving both of its CPUs: the second waits for its turn
(its live view says for whom) and starts once the first has ended, instead of racing it for the CPUs; both
succeed, and no ticket is left behind."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.integration.test_fault_tolerance import Run, runs, wait_for  # noqa: F401 - runs: the fixture

pytestmark = pytest.mark.slow


def search(tmp_path: Path, name: str, steps: int = 2) -> dict[str, Any]:
    return {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 2}},
        "trainConfig": {"trainerPath": f"{ROOT}/tests/fixtures/tune_functions.py:slow_steps", "trainerKind": "tune"},
        "tuneConfig": {"searchSpace": {"x": 1.0, "steps": steps}, "numSamples": 1, "metric": "score", "mode": "min"},
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": name},
    }


def test_runs_sent_at_once_start_in_order(tmp_path: Path, runs: list[Run]) -> None:  # noqa: F811
    first = Run(tmp_path, search(tmp_path, "first", steps=6))
    runs.append(first)
    wait_for(lambda: first.saw("] trial "), timeout=120)  # admitted, its trial holding both CPUs
    second = Run(tmp_path, search(tmp_path, "second"))
    runs.append(second)
    code1, out1, _ = first.finish(timeout=180)
    code2, out2, err2 = second.finish(timeout=180)
    assert (code1, code2) == (0, 0), (out1, out2)
    lines = err2.splitlines()
    waiting = next(i for i, line in enumerate(lines) if "waiting for 1 earlier run(s) on this cluster" in line)
    trial = next(i for i, line in enumerate(lines) if "] trial " in line)
    assert waiting < trial and "{CPU: 2}" in lines[waiting], err2  # it waited before its trial ran
    found = re.search(r"waited (\d+(?:\.\d+)?)s", " ".join(out2.get("warnings", [])))
    assert found and float(found.group(1)) > 1.0, out2.get("warnings")  # the first's 3 steps of 1 s at least
    from raydt import state

    assert list(state.state_dir("turns").glob("*/*.json")) == []  # both tickets went with their runs
