"""mode: serve — a real Ray Serve on loopback, real HTTP, a checkpoint from a real train run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import ROOT, assert_seed_output, free_port, run_cli
from tests.integration.serve_helper import Server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(pytorch_run: dict[str, Any]) -> dict[str, Any]:
    """A built-in PyTorch run through the CLI (the session's shared one, tests/integration/conftest.py): its
    result JSON."""
    return pytorch_run


def direct_probabilities(checkpoint: str, rows: np.ndarray) -> np.ndarray:
    """The checkpoint's model loaded directly with PyTorch, preprocessing from its metadata."""
    import torch

    from raydt.frameworks.pytorch.trainer import build_model

    meta = json.loads((Path(checkpoint) / "raydt_meta.json").read_text())
    model = build_model(meta["inputSize"], meta["hiddenSize"], meta["numClasses"])
    model.load_state_dict(torch.load(Path(checkpoint) / "model.pt", weights_only=False)["model"])
    model.eval()
    scale = meta["preprocessing"]["standardize"]
    x = (rows.astype(np.float32) - np.asarray(scale["mean"], np.float32)) / np.asarray(scale["std"], np.float32)
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(x)), dim=1).numpy()


def test_serve_predicts_like_the_model_batches_guards_and_rejects_bad_requests(
    trained: dict[str, Any], tmp_path: Path, servers: list[Server]
) -> None:
    """One server: 2 replicas with batching behind a bearer token, the experiment's best checkpoint under a route
    prefix; answers equal the model loaded directly, concurrent requests are batched and split back, bad requests
    get a 4xx naming the rule, and Ctrl-C frees the port."""
    from sklearn.datasets import load_digits

    token = "a-long-enough-secret"
    server = Server(
        tmp_path,
        {
            "experimentPath": trained["experimentPath"],
            "routePrefix": "/digits",
            "numReplicas": 2,
            "resourcesPerReplica": {"cpu": 0.5},
            "maxBatchSize": 8,
            "batchWaitTimeoutS": 0.05,
        },
        env={"RAYDT_SERVE_TOKEN": token},
    )
    servers.append(server)
    out = server.out
    assert_seed_output(out)
    assert out["status"] == "success" and out["mode"] == "serve"
    assert out["endpoint"] == f"http://127.0.0.1:{server.port}/digits"
    assert out["checkpointPath"] == trained["checkpointPath"]  # the run's best checkpoint
    assert out["serve"]["auth"] is True and out["serve"]["numReplicas"] == 2

    assert server.call("/healthz")[0] == 401
    assert server.call("/healthz", token="wrong-token-value")[0] == 401
    assert server.call("/healthz", token=token) == (200, {"status": "ok"})
    code, meta = server.call("/metadata", token=token)
    assert code == 200 and meta["framework"] == "pytorch" and meta["inputShape"] == [None, 64]
    assert meta["checkpoint"] == trained["checkpointPath"]

    x, y = load_digits(return_X_y=True)
    rows = x[:300]
    code, body = server.call("/predict", {"instances": rows.tolist(), "probabilities": True}, token=token)
    assert code == 200
    expected = direct_probabilities(trained["checkpointPath"], rows)
    assert body["predictions"] == expected.argmax(axis=1).tolist()
    assert np.allclose(body["probabilities"], expected, atol=1e-5)
    assert np.mean(np.array(body["predictions"]) == y[:300]) > 0.9
    code, body = server.call("/predict", {"instances": rows[:3].tolist()}, token=token)
    assert code == 200 and "probabilities" not in body and len(body["predictions"]) == 3

    def one(i: int) -> tuple[int, list[int]]:
        code, body = server.call("/predict", {"instances": x[i : i + 2].tolist()}, token=token)
        return code, body.get("predictions", [])

    with ThreadPoolExecutor(16) as pool:  # concurrent requests: batched per replica, split back per request
        answers = list(pool.map(one, range(0, 64, 2)))
    assert all(code == 200 for code, _ in answers)
    assert [p for _, preds in answers for p in preds] == expected[:64].argmax(axis=1).tolist()

    bad = [
        (b"{not json", 400, "not valid JSON"),
        (json.dumps({"rows": []}).encode(), 400, "instances"),
        (json.dumps({"instances": [[1, 2]]}).encode(), 400, "instances[0] must be a list of 64 numbers"),
        (json.dumps({"instances": [["a"] * 64]}).encode(), 400, "instances[0][0] must be a finite number"),
        (json.dumps({"instances": [[0] * 64] * 1025}).encode(), 400, "maxInstances"),
        (b"x" * 1_100_000, 413, "maxRequestBytes"),
    ]
    for raw, status, needle in bad:
        code, body = server.call("/predict", raw=raw, token=token)
        assert code == status and needle in body["error"], (raw[:40], code, body)
    assert server.call("/nowhere", token=token)[0] == 404
    assert server.call("/healthz", token=token) == (200, {"status": "ok"})  # still serving after all that

    started = time.monotonic()
    assert server.stop() == 0  # Ctrl-C: Serve shuts down cleanly
    assert time.monotonic() - started < 60
    with socket.socket() as probe:  # the port is free again: nothing listens
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0


def test_detached_serve_status_and_shutdown(trained: dict[str, Any], tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ)  # the session cluster's state folder: the detached run serves there
    spec = {
        "mode": "serve",
        "config": {},
        "serveConfig": {"checkpointPath": trained["checkpointPath"], "port": port},
        "runConfig": {"storagePath": str(tmp_path)},
    }
    (tmp_path / "serve.json").write_text(json.dumps(spec))

    def cli(*args: str) -> tuple[int, dict[str, Any]]:
        proc = subprocess.run(
            [sys.executable, "-m", "raydt", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
        )
        out = json.loads(proc.stdout)
        assert_seed_output(out)
        return proc.returncode, out

    code, out = cli("run", str(tmp_path / "serve.json"), "--detach")
    pid = out.get("pid", 0)
    try:
        assert code == 0 and out["detached"] is True and out["endpoint"] == f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{out['endpoint']}/healthz", timeout=30) as response:
            assert response.status == 200  # the command returned; the background run serves
        code, status = cli("serve", "status")
        (entry,) = status["deployments"]
        assert (entry["port"], entry["pid"], entry["alive"], entry["healthy"]) == (port, pid, True, True)
        assert entry["replicas"] == {"RUNNING": 1}  # Ray Serve's own count, recorded by the serving process
        code, stopped = cli("serve", "shutdown")
        assert code == 0 and stopped["stopped"][0]["alive"] is False
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0
        assert cli("serve", "status")[1]["deployments"] == []
        assert cli("serve", "shutdown")[0] == 2  # nothing left to stop: a usage error, said so
    finally:
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


SLOW_PREDICTOR = """
import time


class SlowPredictor:
    def __init__(self, checkpoint_dir):
        self.checkpoint_dir = checkpoint_dir

    def predict(self, instances):
        time.sleep(0.25)  # a model that takes its time: requests pile up, Serve adds a replica
        return [sum(row) for row in instances]
"""


@pytest.mark.e2e  # a long wait on Serve's autoscaler (~26 s): the e2e tier; the range's mapping is in the fast tier
def test_autoscaling_range_adds_a_replica_under_load(
    trained: dict[str, Any], tmp_path: Path, servers: list[Server]
) -> None:
    (tmp_path / "slow.py").write_text(SLOW_PREDICTOR)
    replicas = {"min": 1, "max": 2, "targetOngoingRequests": 1, "upscaleDelayS": 1}
    server = Server(
        tmp_path,
        {
            "checkpointPath": trained["checkpointPath"],
            "predictorPath": f"{tmp_path / 'slow.py'}:SlowPredictor",
            "numReplicas": replicas,
            "resourcesPerReplica": {"cpu": 0.5},
        },
    )
    servers.append(server)
    assert server.out["serve"]["numReplicas"]["max"] == 2
    assert server.out["serve"]["replicas"] == {"RUNNING": 1}  # starts at min

    def status() -> dict[str, int]:
        res = run_cli("serve", "status", "--port", str(server.port))
        (entry,) = res.out["deployments"]
        return dict(entry["replicas"])

    stop = threading.Event()
    answers: list[tuple[int, Any]] = []

    def client(i: int) -> None:  # a user predictor over HTTP, under steady load
        while not stop.is_set():
            answers.append(server.call("/predict", {"instances": [[i, 1.5], [2, 3]]}))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(6)]
    for t in threads:
        t.start()
    seen: dict[str, int] = {}
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and seen.get("RUNNING", 0) < 2:
            time.sleep(2)
            seen = status()
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert seen.get("RUNNING") == 2, seen  # Ray Serve scaled to max under load
    assert answers and all(code == 200 for code, _ in answers), answers[:3]
    assert {tuple(body["predictions"]) for _, body in answers} == {(i + 1.5, 5) for i in range(6)}
    assert server.stop() == 0
    assert run_cli("serve", "status", "--port", str(server.port)).out["deployments"] == []  # unrecorded on exit
