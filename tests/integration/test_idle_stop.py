"""`raydt cluster up --idle-stop`: a lasting cluster of its own (a state folder of its own) outlives a run longer
than its idle time, then stops itself once nothing uses it, and `raydt cluster status` says so in its history."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from raydt.clusters import procs, state
from tests.conftest import ROOT, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # a cluster of its own and long waits: `make test-e2e`, not CI


def test_an_idle_cluster_stops_itself_but_never_under_a_run(no_session_cluster: Path, tmp_path: Path) -> None:
    up = run_cli("cluster", "up", "--cpus", "2", "--idle-stop", "3s", "--quiet", timeout=120)
    assert up.code == 0, up.out
    cluster = up.out["lastingCluster"]
    try:
        assert cluster["idleStopS"] == 3.0 and procs.belongs(cluster["idleWatcherPid"], cluster["id"])
        spec = {  # 6 one-second steps: twice the idle time, so the cluster would stop under it if runs did not count
            "mode": "tune",
            "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
            "trainConfig": {
                "trainerPath": f"{ROOT}/tests/fixtures/tune_functions.py:slow_steps",
                "trainerKind": "tune",
            },
            "tuneConfig": {"searchSpace": {"x": 1.0, "steps": 6}, "numSamples": 1, "metric": "score", "mode": "min"},
            "runConfig": {"storagePath": str(tmp_path / "results"), "name": "during"},
        }
        (tmp_path / "spec.json").write_text(json.dumps(spec))
        run = run_cli("run", str(tmp_path / "spec.json"), "--quiet", timeout=180)
        assert run.code == 0 and run.out["clusterStatus"]["source"] == "raydt cluster up", run.out
        ended = time.monotonic()
        while state.read() is not None and time.monotonic() - ended < 30:
            time.sleep(0.2)
        assert state.read() is None, "the idle cluster did not stop itself"
        gone = time.monotonic() + 10  # the watcher leaves right after the record (its history line written)
        while procs.tagged(cluster["id"]) and time.monotonic() < gone:
            time.sleep(0.2)
        left = procs.tagged(cluster["id"])
        assert left == [], [(pid, procs.name(pid)) for pid in left]  # every process of it gone, the watcher too
    finally:
        if state.read() is not None:
            run_cli("cluster", "down", "--quiet", timeout=120)
    status = run_cli("cluster", "status", "--quiet", timeout=120)  # no cluster now: an embedded Ray, and the history
    events = status.out["lastingCluster"]["history"]
    assert [e["event"] for e in events[-2:]] == ["up", "down"] and events[-1]["id"] == cluster["id"], events
    assert "idle for" in events[-1]["reason"] and "--idle-stop 3s" in events[-1]["reason"], events[-1]
