"""Ray Jobs for real: specs submitted with ``raydt submit`` to the session's lasting cluster (``raydt cluster up``,
token auth; docs/testing.md), from a working directory that is not the project's, with a file trainer (and the
module it imports) that exists only in the submitted folder. A finished job, a raising trainer, Ctrl-C on --wait
(the job goes on), a stopped job's partial result, and a wrong token."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.slow

TRAINER = """
import json, os, tempfile, time
import ray.train
from helper import scale   # a module beside the trainer: it travels in the same folder

def train_fn(config):
    for epoch in range(config["epochs"]):
        time.sleep(config.get("sleep", 0))
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "state.json"), "w") as f:
                json.dump({"epoch": epoch}, f)
            ray.train.report({"loss": scale(1.0 / (epoch + 1)), "epoch": epoch},
                             checkpoint=ray.train.Checkpoint.from_directory(d))

def boom(config):
    raise ValueError("boom from the submitted trainer")
"""


@pytest.fixture
def cluster(session_cluster: dict[str, Any]) -> dict[str, Any]:
    """The session cluster (tests/integration/conftest.py): a `raydt cluster up` cluster with token auth."""
    return session_cluster


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "code").mkdir()
    (root / "code" / "mytrain.py").write_text(TRAINER)
    (root / "code" / "helper.py").write_text("def scale(x):\n    return 2 * x\n")
    return root


def _spec(project: Path, name: str, function: str = "train_fn", **loop: Any) -> str:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"trainerPath": f"code/mytrain.py:{function}", "metric": "loss",
                        "trainLoopConfig": {"epochs": 2, **loop}},
        # head and worker raylet share this machine: the local folder is shared storage for both
        "runConfig": {"storagePath": str(project / "results"), "name": name, "sharedStorage": True},
    }  # fmt: skip
    path = project / f"{name}.json"
    path.write_text(json.dumps(spec))
    return str(path)


def test_submit_wait_runs_the_spec_on_the_cluster_with_the_submitted_folder(
    cluster: dict[str, Any], project: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    spec = _spec(project, "ok")
    done = run_cli("submit", spec, "--wait", cwd=elsewhere, timeout=240)
    assert done.code == 0, done.out
    out = done.out
    assert out["status"] == "success" and out["jobStatus"] == "SUCCEEDED", out
    assert out["results"]["completedTrials"] == 1 and out["results"]["bestMetric"] == 1.0, out["results"]
    assert Path(out["checkpointPath"]).is_dir() and out["experimentPath"].endswith("/ok"), out
    sub = out["submission"]
    assert sub["workingDir"] == str(project / "code") and sub["files"] == 2, sub
    assert sub["entrypointResources"] == {"CPU": 0.0, "GPU": 0.0} and sub["clusterRayVersion"]
    assert "raydt cluster up" in sub["tokenSource"], sub
    secret = (Path(os.environ["RAYDT_STATE_DIR"]) / "clusters" / cluster["id"] / "auth_token").read_text()
    assert secret not in done.stdout and secret not in done.stderr  # the token itself is never printed
    assert "epoch 1" in done.stderr and "@@raydt-result@@" not in done.stderr  # the live view, relayed
    assert "working_dir_files" in done.stderr  # the trainer ran from Ray's copy of the folder

    listed = run_cli("jobs", "list")
    assert listed.code == 0 and out["jobId"] in [j["jobId"] for j in listed.out["jobs"]], listed.out
    row = next(j for j in listed.out["jobs"] if j["jobId"] == out["jobId"])
    assert (row["status"], row["runName"], row["mode"]) == ("SUCCEEDED", "ok", "train"), row
    logs = subprocess.run([sys.executable, "-m", "raydt", "jobs", "logs", out["jobId"]], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert logs.returncode == 0 and "epoch 1" in logs.stdout and "@@raydt-result@@" not in logs.stdout
    again = run_cli("jobs", "result", out["jobId"])
    assert again.code == 0 and again.out["checkpointPath"] == out["checkpointPath"], again.out
    # the same spec submitted again is the same experiment (Ray's copy of the folder has a new path each time)
    resubmitted = run_cli("submit", spec, "--wait", "--quiet", cwd=elsewhere, timeout=240)
    assert resubmitted.code == 0, resubmitted.out
    assert resubmitted.out["experimentPath"] == out["experimentPath"] and resubmitted.out["jobId"] != out["jobId"]


def test_a_raising_trainer_is_the_runs_error_with_its_exit_code(cluster: dict[str, Any], project: Path) -> None:
    failed = run_cli("submit", _spec(project, "boom", "boom"), "--wait", "--quiet", timeout=240)
    assert failed.code == 1, failed.out
    err = failed.out["error"]
    assert err["code"] == "USER_CODE_ERROR" and "boom from the submitted trainer" in err["message"], err
    assert failed.out["jobStatus"] == "FAILED" and failed.out["jobId"]


def test_ctrl_c_detaches_and_a_stopped_job_reports_what_it_finished(cluster: dict[str, Any], project: Path) -> None:
    spec = _spec(project, "long", epochs=500, sleep=0.2)
    proc = subprocess.Popen([sys.executable, "-m", "raydt", "submit", spec, "--wait"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 180
        for line in proc.stderr:  # the live view arrives while the job runs
            if "epoch 2" in line or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    detached = json.loads(stdout)
    assert proc.returncode == 0 and detached["detached"] is True and detached["jobStatus"] == "RUNNING", detached
    job = detached["jobId"]
    assert any(f"raydt jobs logs {job} --follow" in w for w in detached["warnings"]), detached
    assert run_cli("jobs", "status", job).out["jobStatus"] == "RUNNING"  # Ctrl-C left the job alone

    stopped = run_cli("jobs", "stop", job, timeout=180)
    assert stopped.code == 0 and stopped.out["jobStatus"] == "STOPPED" and stopped.out["jobStopped"], stopped.out
    again = run_cli("jobs", "stop", job, timeout=60)  # it has ended: nothing is stopped, and the result says so
    assert again.code == 0 and again.out["jobStopped"] is False and "nothing was stopped" in again.out["warnings"][0]
    result = run_cli("jobs", "result", job)
    assert result.code == 3 and result.out["status"] == "partial" and result.out["interrupted"] is True, result.out
    assert result.out["jobStatus"] == "STOPPED" and Path(result.out["checkpointPath"]).is_dir(), result.out
    assert 2 < result.out["results"]["iterations"] < 500, result.out["results"]


def test_a_wrong_token_is_refused_before_anything_is_sent(
    cluster: dict[str, Any], project: Path, tmp_path: Path
) -> None:
    wrong = tmp_path / "token"
    wrong.write_text("not-the-token")
    refused = run_cli("submit", _spec(project, "denied"), "--token-file", str(wrong))
    assert refused.code == 1 and refused.out["error"]["code"] == "JOBS_AUTH", refused.out
    assert "not-the-token" not in refused.stdout and str(wrong) in refused.out["error"]["message"]
    listed = run_cli("jobs", "list")
    assert "denied" not in [j.get("runName") for j in listed.out["jobs"]]  # nothing was submitted
    bare = run_cli("jobs", "list", "--address", cluster["dashboardUrl"], "--token-file", str(wrong))
    assert bare.out["error"]["code"] == "JOBS_AUTH", bare.out
    gcs = run_cli("jobs", "list", "--address", cluster["address"])  # the GCS port, as README says: not the dashboard
    assert gcs.code == 1 and gcs.out["error"]["code"] == "NOT_RAY_DASHBOARD", gcs.out
