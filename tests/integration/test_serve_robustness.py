"""Serving without surprises (real Ray, real HTTP): a `--detach` train run shows its live view, an experiment
serves from any current directory, and a model that raises answers a JSON 500 naming the exception."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import assert_seed_output, free_port, run_cli
from tests.integration.serve_helper import Server

pytestmark = pytest.mark.slow


def run_detached(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """`raydt run ARGS --detach`; should it hang, the background run it started (its child) is stopped too."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "raydt", "run", *args, "--detach"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for pid in children(proc.pid):  # Ctrl-C: a training run stops and does not serve
            os.kill(pid, signal.SIGINT)
        proc.kill()
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def children(parent: int) -> list[int]:
    """Pids whose parent is ``parent`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def test_detached_train_relays_its_live_view_and_its_experiment_serves_from_any_directory(
    tmp_path: Path, servers: list[Server]
) -> None:
    """--detach of a train spec with serveConfig shows the training's live view; the experiment, trained on data
    named relative to its spec's folder, is then served by `mode: serve` from another current directory."""
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "data").mkdir(parents=True)
    elsewhere.mkdir()
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (160, 2))
    lines = ["x1,x2,label"] + [f"{a:.4f},{b:.4f},{'yes' if a + b > 0 else 'no'}" for a, b in x]
    (project / "data" / "train.csv").write_text("\n".join(lines) + "\n")
    port = free_port()
    spec = {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {"framework": "pytorch", "epochs": 2},
        "dataConfig": {"train": {"format": "csv", "paths": "data/train.csv", "label": "label"}},  # the spec's folder
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": "csv"},
        "serveConfig": {"port": port, "maxBatchSize": 1},
    }
    (project / "train.json").write_text(json.dumps(spec))
    detached = run_detached([str(project / "train.json")], cwd=elsewhere, timeout=600)
    out = json.loads(detached.stdout)
    pid = int(out.get("pid", 0))
    rows = {"instances": [{"x1": 2.0, "x2": 1.5}, {"x1": -2.0, "x2": -1.0}]}
    try:
        assert_seed_output(out)
        assert detached.returncode == 0 and out["detached"] is True, (out, detached.stderr[-3000:])
        # the background run's live view, relayed while it trained: its epochs, then its deployment
        assert "epoch 1/2" in detached.stderr and "epoch 2/2" in detached.stderr, detached.stderr
        assert "serve: " in detached.stderr and "Traceback" not in detached.stderr
        # the train result, plus the endpoint of its best checkpoint
        assert out["status"] == "success" and out["mode"] == "train" and out["results"]["iterations"] == 2, out
        assert Path(out["checkpointPath"]).is_dir() and out["serve"]["predict"] == f"http://127.0.0.1:{port}/predict"
        request = urllib.request.Request(out["serve"]["predict"], data=json.dumps(rows).encode())
        with urllib.request.urlopen(request, timeout=60) as response:
            assert json.loads(response.read())["predictions"] == ["yes", "no"]
        shut = run_cli("serve", "shutdown", "--port", str(port))
        assert shut.code == 0 and shut.out["stopped"][0]["alive"] is False
    finally:
        if pid:
            from raydt.serving import state

            state.stop({"pid": pid, "stateFile": str(state.directory() / f"{port}.state.json")})  # by pid, waits
    (tmp_path / "serve").mkdir()
    server = Server(tmp_path / "serve", {"experimentPath": out["experimentPath"]})  # cwd: the repository
    servers.append(server)
    assert server.out["status"] == "success", server.out  # was SPEC_INVALID naming dataConfig.train.paths
    assert server.out["checkpointPath"] == out["checkpointPath"]
    assert server.call("/predict", rows) == (200, {"predictions": ["yes", "no"]})
    assert server.stop() == 0


RAISING_PREDICTOR = """
class Raising:
    def __init__(self, checkpoint_dir):
        self.checkpoint_dir = checkpoint_dir

    def predict(self, instances):
        if any(value < 0 for row in instances for value in row):
            raise RuntimeError("negative input reached the model")
        return [sum(row) for row in instances]
"""


def test_a_user_predictor_that_raises_answers_a_json_500_and_logs_the_traceback(
    tmp_path: Path, servers: list[Server]
) -> None:
    (tmp_path / "raising.py").write_text(RAISING_PREDICTOR)
    (tmp_path / "ckpt").mkdir()
    server = Server(  # both paths relative to the spec's folder; the run's current directory is another
        tmp_path, {"checkpointPath": "ckpt", "predictorPath": "raising.py:Raising", "maxBatchSize": 1}
    )
    servers.append(server)
    assert server.out["status"] == "success", server.out
    assert server.out["checkpointPath"] == str((tmp_path / "ckpt").resolve())  # resolved as validation did
    code, body = server.call("/predict", {"instances": [[1, -2]]})
    assert code == 500 and set(body) == {"error", "exception"}, body
    assert body["exception"] == "RuntimeError: negative input reached the model"
    assert "Traceback" not in json.dumps(body) and "raising.py" not in json.dumps(body)
    assert server.call("/predict", {"instances": [[1, 2], [3, 4.5]]}) == (200, {"predictions": [3, 7.5]})
    log = Path(server.out["logFile"])  # the replica's log lines reach the serving process's log file
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "negative input reached the model" not in log.read_text(errors="replace"):
        time.sleep(0.5)
    text = log.read_text(errors="replace")
    assert "Traceback (most recent call last)" in text and 'raise RuntimeError("negative input' in text, text[-3000:]
    assert server.stop() == 0
