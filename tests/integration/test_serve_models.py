"""serveConfig.models — several models behind one real Ray Serve endpoint on loopback, real HTTP: checkpoints, an
experiment's best, a canary split and an ensemble from one real search; then `raydt serve update` of one model
while a load generator keeps sending requests."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import ROOT, assert_seed_output, run_cli
from tests.integration import serve_helper
from tests.integration.serve_helper import Server
from tests.integration.test_serve import direct_probabilities

pytestmark = pytest.mark.slow
TOKEN = "multi-model-secret"


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A built-in PyTorch search of 3 trials (1 epoch each, different learning rates): its result JSON and each
    trial's checkpoint."""
    tmp = tmp_path_factory.mktemp("search")
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1},
        "trainConfig": {"framework": "pytorch", "epochs": 1},
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "grid", "values": [0.03, 0.003, 0.0003]}},
            "metric": "val_accuracy",
            "mode": "max",
        },
        "runConfig": {"storagePath": str(tmp), "name": "search"},
    }
    (tmp / "tune.json").write_text(json.dumps(spec))
    res = run_cli("run", str(tmp / "tune.json"))
    assert res.code == 0, res.out
    checkpoints = sorted(str(p) for p in Path(res.out["experimentPath"]).glob("*/checkpoint_*") if p.is_dir())
    assert len(checkpoints) == 3, checkpoints
    return {"out": res.out, "checkpoints": checkpoints}


def call(url: str, body: Any = None, token: str | None = TOKEN, raw: bytes | None = None) -> tuple[int, Any]:
    return serve_helper.call(url, body, raw, token)


class Load:
    """A loopback load generator: ``clients`` threads sending predict requests back to back until stopped."""

    def __init__(self, url: str, rows: list[list[float]], clients: int = 3) -> None:
        self.url, self.rows = url, rows
        self.answers: list[tuple[float, int, Any]] = []  # (sent at, status, body)
        self.running = True
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]
        for t in self.threads:
            t.start()

    def _client(self) -> None:
        while self.running:
            sent = time.monotonic()
            try:
                status, body = call(self.url, {"instances": self.rows})
            except OSError as exc:  # a refused or reset connection is a dropped request too
                status, body = 0, str(exc)
            self.answers.append((sent, status, body))

    def stop(self) -> None:
        self.running = False
        for t in self.threads:
            t.join(60)


def test_several_models_canary_ensemble_and_update_under_load(
    search: dict[str, Any], tmp_path: Path, servers: list[Server]
) -> None:
    """One endpoint, four models (a checkpoint, an experiment's best, a 0.8/0.2 canary, a top-3 ensemble): each
    answers as its checkpoints loaded directly do, the split's counts follow the weights, the HTTP rules hold on
    every route; then one model is replaced while 3 clients send requests: no request fails, and after the update
    every answer comes from the new checkpoint."""
    from sklearn.datasets import load_digits

    c1, c2, c3 = search["checkpoints"]
    experiment = search["out"]["experimentPath"]
    each = {"resourcesPerReplica": {"cpu": 0.25}}
    server = Server(
        tmp_path,
        {
            "authToken": TOKEN,
            "models": [
                {"name": "a", "checkpointPath": c1, **each},
                {"name": "best", "experimentPath": experiment, **each},
                {
                    "name": "canary",
                    "variants": [
                        {"name": "stable", "checkpointPath": c1, "weight": 0.8},
                        {"name": "new", "checkpointPath": c2, "weight": 0.2},
                    ],
                    **each,
                },
                {"name": "ens", "ensemble": {"experimentPath": experiment, "topK": 3, "combine": "mean"}, **each},
            ],
        },
    )
    servers.append(server)
    out = server.out
    assert_seed_output(out)
    assert out["status"] == "success" and out["mode"] == "serve", out
    url = out["endpoint"]
    listed = {m["name"]: m for m in out["serve"]["models"]}
    assert set(listed) == {"a", "best", "canary", "ens"}
    assert listed["best"]["checkpoints"][0]["checkpoint"] == search["out"]["checkpointPath"]  # as mode serve picks
    assert listed["best"]["metric"]["name"] == "val_accuracy" and listed["ens"]["kind"] == "ensemble"
    assert sorted(m["checkpoint"] for m in listed["ens"]["checkpoints"]) == sorted([c1, c2, c3])

    assert call(f"{url}/models", token=None)[0] == 401  # the token guards every route
    code, models = call(f"{url}/models")
    assert code == 200 and [m["name"] for m in models["models"]] == ["a", "best", "canary", "ens"]
    assert all(m["framework"] == "pytorch" and m["generation"] == 1 for m in models["models"])
    code, meta = call(f"{url}/models/canary/metadata")
    assert code == 200 and [v["name"] for v in meta["variants"]] == ["stable", "new"]

    x, _ = load_digits(return_X_y=True)
    rows = x[:200]
    direct = {c: direct_probabilities(c, rows) for c in (c1, c2, c3)}
    code, body = call(f"{url}/models/a/predict", {"instances": rows.tolist(), "probabilities": True})
    assert code == 200 and body["model"] == "a" and body["generation"] == 1
    assert body["predictions"] == direct[c1].argmax(axis=1).tolist()
    assert np.allclose(body["probabilities"], direct[c1], atol=1e-5)
    code, body = call(f"{url}/models/best/predict", {"instances": rows.tolist()})
    assert (
        code == 200
        and body["predictions"] == direct_probabilities(search["out"]["checkpointPath"], rows).argmax(axis=1).tolist()
    )
    mean = np.mean([direct[c] for c in (c1, c2, c3)], axis=0)
    code, body = call(f"{url}/models/ens/predict", {"instances": rows.tolist(), "probabilities": True})
    assert code == 200 and body["predictions"] == mean.argmax(axis=1).tolist()
    assert np.allclose(body["probabilities"], mean, atol=1e-5)

    answered: dict[str, int] = {"stable": 0, "new": 0}
    expected = {"stable": direct[c1][:5].argmax(axis=1).tolist(), "new": direct[c2][:5].argmax(axis=1).tolist()}
    for _ in range(150):
        code, body = call(f"{url}/models/canary/predict", {"instances": rows[:5].tolist()})
        assert code == 200 and body["predictions"] == expected[body["variant"]]
        answered[body["variant"]] += 1
    assert 12 <= answered["new"] <= 48, answered  # 0.2 x 150 = 30, sd 4.9; the bounds are 3.7 standard deviations

    bad = [
        ("/models/nope/predict", json.dumps({"instances": [[0] * 64]}).encode(), 404, "no model 'nope'"),
        ("/models/a/predict", json.dumps({"instances": [[1, 2]]}).encode(), 400, "must be a list of 64 numbers"),
        ("/models/ens/predict", json.dumps({"instances": [[1, 2]]}).encode(), 400, "must be a list of 64 numbers"),
        ("/models/canary/predict", b"{not json", 400, "not valid JSON"),
        ("/models/a/predict", b"x" * 1_100_000, 413, "maxRequestBytes"),
        ("/elsewhere", b"{}", 404, "no route"),
    ]
    for path, raw, status, needle in bad:
        code, body = call(f"{url}{path}", raw=raw)
        assert code == status and needle in body["error"], (path, code, body)

    # replace model 'a' (checkpoint c1 -> c3) while 3 clients keep sending requests
    load = Load(f"{url}/models/a/predict", rows[:20].tolist())
    time.sleep(1.0)
    command = ["serve", "update", "--model", "a", "--checkpoint", c3, "--port", str(server.port)]
    update = subprocess.run(
        [sys.executable, "-m", "raydt", *command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    done = time.monotonic()
    time.sleep(1.5)
    load.stop()
    reply = json.loads(update.stdout)
    assert update.returncode == 0 and reply["status"] == "success", (reply, update.stderr[-2000:])
    assert reply["updated"]["generation"] == 2 and reply["updated"]["checkpoints"][0]["checkpoint"] == c3
    failed = [(status, body) for _, status, body in load.answers if status != 200]
    assert not failed and len(load.answers) > 20, (failed[:3], len(load.answers))
    after = [body for sent, _, body in load.answers if sent > done]
    new_answer = direct[c3][:20].argmax(axis=1).tolist()
    assert after and all(b["generation"] == 2 and b["predictions"] == new_answer for b in after)
    assert {b["generation"] for _, _, b in load.answers} == {1, 2}  # the old answered until the switch
    code, models = call(f"{url}/models")
    assert code == 200 and models["models"][0]["checkpoints"][0]["checkpoint"] == c3

    wrong = run_cli("serve", "update", "--model", "canary", "--checkpoint", c3, "--port", str(server.port))
    assert wrong.code != 0 and "--variant" in wrong.out["error"]["message"]  # a canary names its variant
    assert server.stop() == 0


def test_a_changed_search_continues_beside_the_old_one_from_its_nearest_checkpoints(
    search: dict[str, Any], tmp_path: Path
) -> None:
    """`raydt run SPEC --continue-from DIR --init-from-best` on the module's search with a narrowed space: a new
    experiment search-cont1, warm-started with the old trial the space still holds, whose trials start from the
    nearest old trial's weights: at a learning rate too small to learn anything in an epoch a trial scores as that
    trial did, far above a fresh model's chance level."""
    old = search["out"]
    spec = json.loads((Path(old["experimentPath"]).parent / "tune.json").read_text())
    spec["tuneConfig"]["searchSpace"] = {"lr": {"type": "loguniform", "min": 1e-10, "max": 1e-3}}  # narrowed
    spec["tuneConfig"] |= {"numSamples": 2, "pointsToEvaluate": [{"lr": 1e-9}]}
    (tmp_path / "changed.json").write_text(json.dumps(spec))
    refused = run_cli("run", str(tmp_path / "changed.json"))  # the same name, a changed spec: the hint says how
    assert refused.code == 2 and "--continue-from" in refused.out["error"]["hint"], refused.out
    res = run_cli("run", str(tmp_path / "changed.json"), "--continue-from", old["experimentPath"], "--init-from-best")
    assert res.code == 0, res.out
    r = res.out["results"]
    assert res.out["experimentPath"] == old["experimentPath"] + "-cont1"
    assert r["warmStartedTrials"] == 1 and r["numTrials"] == 2  # 0.0003 fits the narrowed space, 0.03/0.003 not
    assert any("2 earlier trial(s) lie outside" in w for w in res.out["warnings"]), res.out["warnings"]
    continued = r["continuedFrom"]
    assert continued["experimentPath"] == old["experimentPath"] and continued["initFromBest"] is True
    assert {d["key"] for d in continued["differences"]} >= {"tuneConfig.numSamples", "tuneConfig.searchSpace.lr.type"}
    nearest = min(old["trials"], key=lambda t: t["config"]["lr"])  # 0.0003: the nearest to 1e-9
    expected = nearest["lastMetrics"]["val_accuracy"]
    tiny = next(t for t in res.out["trials"] if t["config"]["lr"] == 1e-9)
    got = tiny["lastMetrics"]["val_accuracy"]
    assert abs(got - expected) < 0.03 and got > 0.3, (got, expected)  # its weights, not a fresh model's
