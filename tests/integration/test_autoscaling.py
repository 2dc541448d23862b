"""A real Ray autoscaler: a request the current nodes cannot hold waits for a new node (bounded by
runConfig.pendingTimeoutS) instead of failing, and one no node type can hold times out clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, assert_seed_output
from tests.integration.conftest import run_helper

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # `make test-e2e` (docs/testing.md), not CI


def test_autoscaling_cluster_waits_for_new_nodes_within_the_pending_timeout(tmp_path: Path) -> None:
    code, out_text, err = run_helper(
        "autoscaling_helper.py",
        [str(tmp_path), f"{FIXTURES}/trainers.py:report_and_checkpoint"],
        timeout=540,
        leftovers=tmp_path / "pids.txt",  # the cluster's processes, should the helper not have ended them
    )
    assert code == 0, err[-3000:]
    out = json.loads(out_text.strip().splitlines()[-1])

    grows = out["grows"]
    assert_seed_output(grows)
    assert grows["status"] == "success", grows
    scaler = grows["clusterStatus"]["autoscaler"]
    assert scaler["version"] == "v1" and scaler["source"] == "detected"
    assert scaler["nodeTypes"] == ["ray.head.default"]  # the configured type of the only node so far
    assert grows["clusterStatus"]["numNodes"] == 1  # at preflight: only the head
    assert any("autoscales" in w and "pendingTimeoutS (180s)" in w for w in grows["warnings"])
    assert grows["results"]["iterations"] == 2

    never = out["never"]
    assert_seed_output(never)
    assert never["status"] == "error" and never["error"]["code"] == "PENDING_TIMEOUT", never
    assert 10 <= out["waited"] < 120

    local = out["local"]
    assert local["status"] == "error" and local["error"]["code"] == "SPEC_INVALID"
    assert "autoscales" in json.dumps(local["error"])
