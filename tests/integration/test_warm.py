"""Warm runs on the session cluster (``raydt cluster up`` starts a warm runner beside it, ``clusters.warm``): a
``raydt run`` is forked from a process with raydt, Ray and torch imported, yet runs the trainer file as it is now
(edited between two runs) and starts from a clean process (what one run's trainer left in the driver's module
state does not reach the next), with the client's folder, streams and exit code."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow

TRAINER = """
import builtins, os
import ray.train

# runs in the driver when raydt imports the file: what a resident process would keep from one run to the next
builtins.RAYDT_TEST_IMPORTS = getattr(builtins, "RAYDT_TEST_IMPORTS", 0) + 1
with open(os.environ["RAYDT_TEST_LEDGER"], "a") as fh:
    fh.write(f"{{builtins.RAYDT_TEST_IMPORTS}} {{os.getpid()}}\\n")


def train(config):
    ray.train.report({{"loss": 1.0, "version": {version}}})
"""


def _wait_for_runner(timeout: float = 60.0) -> str:
    from raydt.clusters import state

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rec = state.running() or {}
        path = rec.get("runnerSocket")
        if path and os.path.exists(path):
            return str(path)
        time.sleep(0.5)
    raise AssertionError(f"the session cluster's warm runner did not come up: {state.running()}")


def test_a_warm_run_reads_the_edited_trainer_and_starts_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _wait_for_runner()
    ledger = tmp_path / "imports.txt"
    monkeypatch.setenv("RAYDT_TEST_LEDGER", str(ledger))
    trainer = tmp_path / "trainer.py"
    spec = {
        "mode": "train",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"trainerPath": "trainer.py:train", "metric": "loss"},  # relative: the client's folder
        "runConfig": {"storagePath": "results"},
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    versions = []
    for version in (1, 2):
        trainer.write_text(TRAINER.format(version=version))
        res = run_cli("run", "spec.json", cwd=tmp_path)
        assert res.code == 0 and res.out["status"] == "success", res.out
        assert "[raydt warm] forked from the cluster's warm runner" in res.stderr, res.stderr
        assert res.out["clusterStatus"]["source"] == "raydt cluster up"
        versions.append(res.out["results"]["finalMetrics"]["version"])
        assert Path(res.out["experimentPath"]).is_relative_to(tmp_path / "results")  # the client's folder
    assert versions == [1, 2]  # the file as it was when each run started
    imports = [line.split() for line in ledger.read_text().splitlines()]
    assert [count for count, _pid in imports] == ["1", "1"]  # each run's driver imported the file into a clean process
    assert imports[0][1] != imports[1][1]


def test_a_failing_warm_run_keeps_its_exit_code_and_the_next_run_is_unharmed(tmp_path: Path) -> None:
    _wait_for_runner()
    bad = run_cli("run", "-", stdin='{"mode": "train", "config": {"numWorkers": 0}}')
    assert bad.code == 2 and bad.out["error"]["code"] == "SPEC_INVALID", bad.out
    assert "[raydt warm]" in bad.stderr  # the spec came through the client's stdin
    from raydt.clusters import procs, state

    rec = state.running() or {}
    assert procs.belongs(int(rec["runnerPid"]), rec["id"])  # the runner lives on, tagged as the cluster's
