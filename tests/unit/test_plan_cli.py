"""``raydt plan`` as a real process and as an MCP tool (a real MCP client over stdio): one JSON document, exit 0 when
the run fits, 2 when it does not (DOES_NOT_FIT, with the plan's reason and hint) or the command line is wrong; and
no Ray (nor torch) imported without a probe or a cluster. The probed estimate against a real run:
tests/integration/test_plan_probe.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp import ClientSession

from tests.conftest import FIXTURES, ROOT, run_cli
from tests.unit.test_mcp_protocol import document, over_stdio


def spec(tmp_path: Path, cpu: float = 1, **extra: Any) -> Path:
    body = {
        "mode": "tune",
        "config": {"resourcesPerWorker": {"cpu": cpu}, "address": "local", "rayInit": {"num_cpus": 2}, **extra},
        "trainConfig": {"trainerPath": f"{FIXTURES}/tune_functions.py:paced", "epochs": 3},
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "uniform", "min": 0.0, "max": 1.0}},
            "numSamples": 4,
            "scheduler": "fifo",
            "searchAlgorithm": "random",
            "metric": "score",
            "mode": "min",
        },  # fmt: skip
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": "planned"},
    }
    path = tmp_path / f"spec-{cpu:g}.json"
    path.write_text(json.dumps(body))
    return path


def test_a_plan_that_fits_exits_0_with_its_shape_and_cost(tmp_path: Path) -> None:
    res = run_cli("plan", str(spec(tmp_path, costPerHour={"cpu": 0.5})))
    assert res.code == 0, res.out
    plan = res.out["plan"]
    assert res.out["status"] == "success" and res.out["mode"] == "tune"
    assert plan["target"]["kind"] == "embedded" and plan["target"]["totalCpu"] == 2
    assert plan["trial"] == {"workers": 1, "resourcesPerWorker": {"CPU": 1.0}, "trialResources": {"CPU": 1.0},
                             "iterations": 3}  # fmt: skip
    assert plan["numTrials"] == 4 and plan["concurrency"]["trialsAtOnce"] == 2
    assert plan["concurrency"]["limit"] == "capacity" and plan["fit"]["fits"] is True
    assert plan["estimate"]["basis"] == "none" and plan["estimate"]["wallTimeS"] is None
    assert "--probe" in plan["estimate"]["note"]
    assert plan["cost"]["perHour"] == 1.0 and "estimated" not in plan["cost"]  # no time: no total


def test_a_plan_that_does_not_fit_exits_2_with_the_reason_and_a_hint(tmp_path: Path) -> None:
    res = run_cli("plan", str(spec(tmp_path, cpu=4)))
    assert res.code == 2, res.out
    assert res.out["status"] == "error" and res.out["error"]["code"] == "DOES_NOT_FIT"
    assert "at most 2 on a node" in res.out["error"]["message"]
    assert "config.resourcesPerWorker.cpu" in res.out["error"]["hint"]
    fit = res.out["plan"]["fit"]
    assert fit["fits"] is False and fit["hint"] == res.out["error"]["hint"]
    assert res.out["plan"]["estimate"]["basis"] == "none"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    both = run_cli("plan", str(spec(tmp_path)), "--k8s", "--probe")
    assert both.code == 2 and both.out["error"]["code"] == "USAGE" and "--probe" in both.out["error"]["message"]
    serve = tmp_path / "serve.json"
    serve.write_text(json.dumps({"mode": "cluster", "config": {}}))
    other = run_cli("plan", str(serve))
    assert other.code == 2 and other.out["error"]["code"] == "USAGE" and "mode cluster" in other.out["error"]["message"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"mode": "train", "config": {"costPerHour": -1}}))
    invalid = run_cli("plan", str(bad))
    assert invalid.code == 2 and invalid.out["error"]["issues"][0]["path"] == "config.costPerHour"


def test_the_k8s_plan_sizes_its_own_cluster(tmp_path: Path) -> None:
    res = run_cli("plan", str(spec(tmp_path, cpu=4)), "--k8s")  # does not fit this machine, fits the pods
    assert res.code == 0, res.out
    assert res.out["plan"]["target"]["kind"] == "k8s" and res.out["plan"]["concurrency"]["trialsAtOnce"] == 4


def test_plan_imports_no_ray_without_a_probe_or_a_cluster(tmp_path: Path) -> None:
    code = (
        "import sys, io, contextlib\n"
        "from raydt.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['plan', {str(spec(tmp_path))!r}]) == 0\n"
        f"    assert main(['plan', {str(spec(tmp_path, cpu=4))!r}]) == 2\n"
        "heavy = sorted(m for m in ('ray', 'torch', 'tensorflow', 'xgboost') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_the_mcp_plan_tool(tmp_path: Path) -> None:
    fits, too_big = str(spec(tmp_path)), str(spec(tmp_path, cpu=4))

    async def body(client: ClientSession) -> None:
        ok = await client.call_tool("plan", {"spec": fits})
        assert not ok.is_error and document(ok)["plan"]["concurrency"]["trialsAtOnce"] == 2
        refused = await client.call_tool("plan", {"spec": too_big})
        assert refused.is_error and document(refused)["error"]["code"] == "DOES_NOT_FIT"
        sized = await client.call_tool("plan", {"spec": too_big, "k8s": True})
        assert not sized.is_error and document(sized)["plan"]["target"]["kind"] == "k8s"

    over_stdio(tmp_path, body)
