"""mode: cluster against a real Ray: the session cluster (`raydt cluster up`, docs/testing.md) as the CLI and the
API see it, its token, a second `up` refused, and an embedded Ray when no cluster is recorded. The whole lifecycle
with a worker raylet and a crashed head is in test_clusters.py (the e2e tier)."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import raydt
from tests.conftest import assert_seed_output, run_cli

pytestmark = pytest.mark.slow


def test_cluster_status_of_a_running_ray(shared_ray: None) -> None:
    out = raydt.run({"mode": "cluster", "config": {}})
    assert_seed_output(out)
    cs = out["clusterStatus"]
    assert out["status"] == "success"
    assert cs["numNodes"] == 1 and cs["totalCpu"] == 2.0 and cs["totalGpu"] == 0.0
    assert 0 <= cs["availableCpu"] <= cs["totalCpu"]
    node = cs["nodes"][0]
    assert node["isHead"] and node["cpu"] == 2.0 and node["memoryBytes"] > 0
    assert node["address"].startswith("127.0.0.")  # loopback only


def test_the_session_cluster_is_found_guarded_by_its_token_and_not_started_twice(
    session_cluster: dict[str, Any],
) -> None:
    status = run_cli("cluster", "status", "--quiet")
    assert status.code == 0 and status.stderr == "", status.out
    cs = status.out["clusterStatus"]
    assert (cs["numNodes"], cs["totalCpu"], cs["source"]) == (1, 2.0, "raydt cluster up"), cs
    assert cs["address"] == session_cluster["address"] and session_cluster["loopbackOnly"]
    assert run_cli("cluster", "--quiet").out["clusterStatus"]["source"] == "raydt cluster up"  # plain = status

    with pytest.raises(urllib.error.HTTPError) as denied:  # token auth is on: no token, no API
        urllib.request.urlopen(f"{session_cluster['dashboardUrl']}/api/jobs/", timeout=10)
    assert denied.value.code == 401
    token = Path(session_cluster["tokenSource"].split()[1]).read_text()
    again = run_cli("cluster", "up")
    assert again.code == 2 and session_cluster["address"] in again.out["error"]["message"], again.out
    assert token not in again.stdout + again.stderr + status.stdout  # the token itself is never printed


def test_cluster_command_starts_an_embedded_ray_quietly(no_session_cluster: Path) -> None:
    res = run_cli("cluster", "--quiet")
    assert res.code == 0
    assert res.out["clusterStatus"]["numNodes"] == 1 and res.out["clusterStatus"]["address"] == "embedded"
    assert res.out["clusterStatus"]["source"] == "embedded"
    assert res.stderr == ""


def test_a_dead_cluster_is_named_dead_never_replaced_by_an_embedded_ray(cluster_to_break: dict[str, Any]) -> None:
    """The session cluster's head SIGKILLed: run, cluster status and doctor name it dead with the fix (the next test
    gets a fresh session cluster)."""
    import json
    import os
    import signal
    import time

    from raydt.clusters import procs

    session_cluster = cluster_to_break
    head = int(session_cluster["headPid"])
    os.kill(head, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while procs.belongs(head, session_cluster["id"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    spec = Path(session_cluster["tokenSource"].split()[1]).parent / "dead.json"  # any folder of ours
    spec.write_text(json.dumps({"mode": "train", "config": {}, "runConfig": {"storagePath": str(spec.parent)}}))
    started = time.monotonic()
    dead = run_cli("run", str(spec), timeout=120)
    assert dead.code == 1 and dead.out["error"]["code"] == "RAY_CONNECTION", dead.out
    assert "is dead" in dead.out["error"]["message"] and "raydt cluster up" in dead.out["error"]["hint"]
    assert "clusterStatus" not in dead.out and time.monotonic() - started < 60  # no embedded Ray started
    status = run_cli("cluster", "status", timeout=120)
    assert status.code == 1 and "is dead" in status.out["error"]["message"], status.out
    doctor = run_cli("doctor", timeout=120)
    rows = {c["name"]: c for c in doctor.out["checks"]}
    assert doctor.code == 1 and rows["lasting cluster"]["status"] == "fail", doctor.out
