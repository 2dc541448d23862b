"""mode: cluster against a real Ray: status of the shared instance, embedded via CLI, bad address."""

from __future__ import annotations

import time

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
    assert node["address"] == "127.0.0.1"


def test_cluster_command_starts_an_embedded_ray_quietly() -> None:
    res = run_cli("cluster", "--quiet")
    assert res.code == 0
    assert res.out["clusterStatus"]["numNodes"] == 1 and res.out["clusterStatus"]["address"] == "embedded"
    assert res.stderr == ""


def test_wrong_address_is_a_clear_error_within_seconds() -> None:
    start = time.monotonic()
    res = run_cli("cluster", "--address", "127.0.0.1:1")
    assert time.monotonic() - start < 15
    assert res.code == 1
    assert res.out["error"]["code"] == "RAY_CONNECTION"
    assert "127.0.0.1:1" in res.out["error"]["message"]
    assert "config.address" in res.out["error"]["hint"]
