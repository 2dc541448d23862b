"""A lasting local cluster for real (`ray start` on 127.0.0.1 with token auth): up with a worker raylet,
a second up refused, status, `raydt run` using it (and `config.address: local` not), down leaving none of
its processes, and a crashed head that does not block the next up. One cluster shared: the budget is tight."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from raydt.clusters import procs
from tests.conftest import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # `make test-e2e` (docs/testing.md), not CI


def _spec(tmp_path: Path, name: str, **config: Any) -> str:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}, **config},
        "trainConfig": {"framework": "pytorch", "epochs": 1},
        # both raylets run on this machine: the local folder is shared storage for them
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": name, "sharedStorage": True},
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec))
    return str(path)


def _gone(pids: list[int], cluster_id: str) -> bool:
    return not any(procs.belongs(pid, cluster_id) for pid in pids)


def test_lasting_cluster_up_status_run_down_and_a_crashed_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAYDT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    record = tmp_path / "state" / "clusters" / "cluster.json"
    started: dict[str, list[int]] = {}  # cluster id -> pids, for the cleanup below
    try:
        up = run_cli("cluster", "up", "--cpus", "1", "--workers", "1", "--worker-cpus", "1", timeout=240)
        assert up.code == 0, up.out
        cluster = up.out["lastingCluster"]
        pids = [p["pid"] for p in cluster["processes"]]
        started[cluster["id"]] = pids
        assert cluster["address"].startswith("127.0.0.2:") and cluster["loopbackOnly"], cluster  # loopback, own IP
        assert "RAY_AUTH_TOKEN_PATH" in cluster["tokenSource"] and record.exists()
        token = (tmp_path / "state" / "clusters" / cluster["id"] / "auth_token").read_text()
        assert token not in up.stdout and token not in up.stderr
        assert sum(p["name"].startswith("raylet") for p in cluster["processes"]) == 2, cluster["processes"]
        with pytest.raises(urllib.error.HTTPError) as denied:  # token auth is on: no token, no API
            urllib.request.urlopen(f"{cluster['dashboardUrl']}/api/jobs/", timeout=10)
        assert denied.value.code == 401

        again = run_cli("cluster", "up")
        assert again.code == 2 and cluster["address"] in again.out["error"]["message"], again.out

        status = run_cli("cluster", "status", "--quiet")
        assert status.code == 0, status.out
        cs = status.out["clusterStatus"]
        assert (cs["numNodes"], cs["totalCpu"], cs["source"]) == (2, 2.0, "raydt cluster up"), cs
        assert cs["address"] == cluster["address"]
        assert {n["address"] for n in cs["nodes"]} == {"127.0.0.2", "127.0.0.3"}  # each raylet its own loopback IP
        assert run_cli("cluster", "--quiet").out["clusterStatus"]["numNodes"] == 2  # plain `cluster` = status

        used = run_cli("run", _spec(tmp_path, "on-cluster"))
        assert used.code == 0, used.out
        assert used.out["clusterStatus"]["source"] == "raydt cluster up" and used.out["clusterStatus"]["numNodes"] == 2
        assert "raydt cluster up" in used.stderr
        local = run_cli("run", _spec(tmp_path, "embedded", address="local"))
        assert local.code == 0, local.out
        assert local.out["clusterStatus"]["source"] == "embedded" and local.out["clusterStatus"]["numNodes"] == 1

        down = run_cli("cluster", "down")
        assert down.code == 0, down.out
        assert set(pids) <= set(down.out["lastingCluster"]["stoppedPids"])
        assert _gone(down.out["lastingCluster"]["stoppedPids"], cluster["id"]) and not record.exists()
        assert not Path(cluster["rayTempDir"]).exists()

        # a crashed head (its processes killed by pid) leaves no record that blocks the next up
        crashed = run_cli("cluster", "up", "--cpus", "1", timeout=240)
        assert crashed.code == 0, crashed.out
        first = crashed.out["lastingCluster"]
        started[first["id"]] = [p["pid"] for p in first["processes"]]
        for pid in started[first["id"]]:
            if procs.belongs(pid, first["id"]):
                os.kill(pid, signal.SIGKILL)
        after = run_cli("cluster", "up", "--cpus", "1", timeout=240)
        assert after.code == 0, after.out
        second = after.out["lastingCluster"]
        started[second["id"]] = [p["pid"] for p in second["processes"]]
        assert any("had died" in w for w in after.out.get("warnings", [])), after.out
        assert run_cli("cluster", "down").code == 0
        assert _gone(started[second["id"]], second["id"]) and _gone(started[first["id"]], first["id"])
    finally:  # whatever failed: every process of the clusters started here, by pid (never by name)
        folders = tmp_path / "state" / "clusters"  # one per cluster, named by its id: also an up cut short
        for folder in folders.iterdir() if folders.exists() else []:
            started.setdefault(folder.name, [])
        for cluster_id, known in started.items():
            procs.stop(sorted(set(known) | set(procs.tagged(cluster_id))), cluster_id, timeout=5)
