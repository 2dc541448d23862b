"""A real multi-node Ray cluster on one machine: losing a worker node mid-run, the run still succeeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, assert_seed_output
from tests.integration.conftest import run_helper

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # `make test-e2e` (docs/testing.md), not CI


def test_elastic_run_survives_the_loss_of_a_worker_node(tmp_path: Path) -> None:
    log = tmp_path / "epochs.log"
    _, out_text, err = run_helper(
        "multinode_helper.py", [str(tmp_path), str(log), f"{FIXTURES}/trainers.py:killable"], timeout=600
    )
    out = json.loads(out_text.strip().splitlines()[-1])
    assert out is not None, err[-3000:]
    assert_seed_output(out)
    assert out["status"] == "success", out
    assert out["clusterStatus"]["numNodes"] == 3
    assert out["elasticWorkers"] == {"min": 1, "max": 2}
    assert out["restarts"] >= 1
    assert out["results"]["finalMetrics"]["epoch"] == 8
    assert out["results"]["finalMetrics"]["world_size"] == 1  # continued with the worker that was left
    starts = [int(ln.split()[1]) for ln in log.read_text().splitlines() if ln.startswith("start")]
    assert set(starts) == set(range(1, 9))
    # epoch 2 was registered with Ray Train before the node died (epoch 3 was done): not trained again
    assert starts.count(1) == 1 and starts.count(2) == 1
