"""The README's lasting-cluster example on a real Ray (the e2e tier: two raylets): a head and a worker raylet, a spec
with a local storagePath and no sharedStorage, run there and submitted there. (A dead head named as dead by run,
cluster status and doctor is checked in the slow tier, on the session cluster: test_cluster.py.)"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from raydt.clusters import procs
from tests.conftest import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # `make test-e2e` (docs/testing.md), not CI


def _spec(tmp_path: Path, name: str) -> Path:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"framework": "pytorch", "epochs": 1},
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": name},  # local, no sharedStorage
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec))
    return path


def test_readme_lasting_cluster_example_runs_and_is_submitted_with_a_local_storage_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAYDT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    cluster: dict[str, Any] = {}
    try:
        up = run_cli("cluster", "up", "--cpus", "1", "--workers", "1", "--worker-cpus", "1", timeout=240)
        assert up.code == 0, up.out
        cluster = up.out["lastingCluster"]
        used = run_cli("run", str(_spec(tmp_path, "readme")), timeout=600)
        assert used.code == 0, used.out  # was SPEC_INVALID "storagePath is a local path, but the cluster has 2 nodes"
        assert used.out["clusterStatus"]["numNodes"] == 2 and used.out["clusterStatus"]["source"] == "raydt cluster up"
        sent = run_cli("submit", str(_spec(tmp_path, "sent")), "--wait", timeout=600)
        assert sent.code == 0 and sent.out["status"] == "success", sent.out

        assert run_cli("cluster", "down", timeout=120).code == 0
    finally:
        for pid in procs.tagged(str(cluster.get("id", ""))) if cluster else []:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
