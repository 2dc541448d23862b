"""trainConfig.model on a real local Ray: a plain PyTorch model and dataset (files that exist only in tmp_path,
written as a PyTorch user writes them) trained by raydt's loop on 2 DDP workers and restarted after a killed worker
in one run, tuned, and its checkpoint served by the user-model predictor."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

import raydt
from tests.integration import user_model_helper as helper
from tests.integration.serve_helper import Server

pytestmark = pytest.mark.slow

ROWS, VAL_ROWS = 320, 80

MODELS = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, hidden=16, features=8):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, x):
        return self.net(x)
"""

# The dataset writes which rows each DDP rank read (one file per process): the test's window on the sampler
# (the driver's one-batch probe, outside any process group, is not recorded).
# With KILL set, rank 1 kills its own process once in its second epoch, the first time only (a marker file).
# (A worker that dies within Ray Train's poll interval of a report loses that report, and its checkpoint with it:
# the restart then starts one checkpoint earlier. Ray's semantics, not the loop's: the kill waits past it.)
DATA = """
import os
import signal
import time

import torch
import torch.distributed as dist
from torch.utils.data import Dataset

SEEN = {seen!r}
KILL = {kill!r}


class Rows(Dataset):
    def __init__(self, x, y, name):
        self.x, self.y, self.name, self.reads = x, y, name, 0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        if not dist.is_initialized():  # raydt's one-batch probe in the driver, before the workers start
            return self.x[i], self.y[i]
        rank = dist.get_rank()
        if self.name == "train":
            self.reads += 1
            with open(os.path.join(SEEN, f"rank{{rank}}-{{os.getpid()}}.txt"), "a") as fh:
                fh.write(f"{{i}}\\n")
            marker = os.path.join(SEEN, "killed")
            if KILL and rank == 1 and self.reads > len(self.x) // 2 + 5 and not os.path.exists(marker):
                open(marker, "w").close()
                time.sleep(3)  # past Ray Train's poll (2 s): epoch 1's report is registered, as in any real run
                os.kill(os.getpid(), signal.SIGKILL)
        return self.x[i], self.y[i]


def load_data(config):
    g = torch.Generator().manual_seed(0)
    x = torch.randn({rows} + {val_rows}, 8, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return Rows(x[:{rows}], y[:{rows}], "train"), Rows(x[{rows}:], y[{rows}:], "validation")
"""


def _files(tmp_path: Path, name: str, kill: bool = False) -> tuple[Path, Path]:
    code = tmp_path / f"code-{name}"
    seen = tmp_path / f"seen-{name}"
    code.mkdir()
    seen.mkdir()
    (code / "models.py").write_text(textwrap.dedent(MODELS))
    data = DATA.format(seen=str(seen), kill=kill, rows=ROWS, val_rows=VAL_ROWS)
    (code / "data.py").write_text(textwrap.dedent(data))
    return code, seen


def _spec(tmp_path: Path, code: Path, name: str, mode: str = "train", **loop: Any) -> dict[str, Any]:
    return {
        "mode": mode,
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {
            "model": f"{code}/models.py:Net",
            "data": f"{code}/data.py:load_data",
            "loss": "cross_entropy",
            "trainLoopConfig": {"lr": 0.05, "batchSize": 16, "hidden": 16, **loop},
        },
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": name, "maxFailures": 2},
    }


@pytest.fixture(scope="module")
def trained(shared_ray: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One 2-worker run of 3 epochs whose rank 1 is SIGKILLed in epoch 2: its result and the per-rank reads."""
    tmp_path = tmp_path_factory.mktemp("ddp")
    code, seen = _files(tmp_path, "ddp", kill=True)
    return raydt.run(_spec(tmp_path, code, "ddp", epochs=3)), seen


def test_two_ddp_workers_train_the_user_model_resume_a_killed_worker_and_checkpoint_it(
    trained: tuple[dict[str, Any], Path],
) -> None:
    out, seen = trained
    assert out["status"] == "success", out
    r = out["results"]
    assert r["iterations"] == 3 and r["finalMetrics"]["epoch"] == 3
    for key in ("train_loss", "val_loss", "val_accuracy"):
        assert key in r["finalMetrics"], r["finalMetrics"]
    assert r["finalMetrics"]["val_accuracy"] > 0.8  # it learns x0 + x1 > 0
    assert r["bestConfig"]["hidden"] == 16 and r["bestConfig"]["optimizer"] == "adam"

    # rank 1 was killed once in epoch 2: one restart, from epoch 1's checkpoint, and no epoch reported twice
    assert (seen / "killed").exists() and out["restarts"] == 1
    epochs = [row["metrics"]["epoch"] for row in helper.ledger(out["experimentPath"]) if "metrics" in row]
    assert epochs == [1, 2, 3], epochs
    # DDP really split the data: 2 ranks, each read ROWS/2 rows an epoch, disjoint within epoch 1; after the restart
    # each rank's new process read epochs 2 and 3 only (ROWS/2 rows each): none of epoch 1 again
    reads = helper.reads(seen)
    assert sorted(reads) == [0, 1] and all(len(procs) == 2 for procs in reads.values()), reads.keys()
    first = [set(reads[rank][0][: ROWS // 2]) for rank in (0, 1)]
    assert not first[0] & first[1] and len(first[0] | first[1]) == ROWS
    assert [len(reads[rank][1]) for rank in (0, 1)] == [ROWS, ROWS]

    # The checkpoint loads into the user's model, and the predictor answers as the model does
    import torch

    from raydt.frameworks.pytorch.user.predictor import Predictor

    ckpt = Path(out["checkpointPath"])
    meta = json.loads((ckpt / "raydt_meta.json").read_text())
    assert meta["framework"] == "pytorch" and meta["task"] == "classification" and meta["inputShape"] == [8]
    state = torch.load(ckpt / "model.pt", weights_only=False)
    assert state["epoch"] == r["bestMetrics"]["epoch"] and "optimizer" in state and "rng" in state
    predictor = Predictor(str(ckpt))
    x = torch.randn(16, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = predictor.model(x).argmax(dim=1).tolist()
    assert predictor.predict(x.tolist()) == expected
    assert sum(p == int(a + b > 0) for p, (a, b) in zip(expected, x[:, :2].tolist(), strict=True)) >= 12


def test_tune_searches_lr_and_the_models_width_and_asha_stops_the_lagging(shared_ray: None, tmp_path: Path) -> None:
    code, _ = _files(tmp_path, "tune")
    spec = _spec(tmp_path, code, "tune", mode="tune", epochs=3, precision="bf16")  # bf16 autocast on CPU
    spec["config"] = {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}}
    del spec["trainConfig"]["trainLoopConfig"]["hidden"]
    del spec["trainConfig"]["trainLoopConfig"]["lr"]
    spec["tuneConfig"] = {
        "searchAlgorithm": "random",
        "scheduler": "asha",
        "schedulerConfig": {"gracePeriod": 1, "reductionFactor": 2},
        "maxConcurrentTrials": 1,  # in order: the learning trials set the bar the one that cannot learn misses
        "metric": "val_accuracy",
        "mode": "max",
        "seed": 0,
        "searchSpace": {"lr": {"type": "grid", "values": [0.05, 1e-6]}, "hidden": {"type": "grid", "values": [4, 32]}},
    }
    out = raydt.run(spec)
    assert out["status"] == "success", out
    r = out["results"]
    assert (r["numTrials"], r["completedTrials"], r["scheduler"]) == (4, 4, "asha")
    # the grid runs lr 0.05 first: a trial that cannot learn (lr 1e-6) falls below the bar at the first rung
    lagging = [t for t in out["trials"] if t["config"]["lr"] == 1e-6]
    assert len(lagging) == 2 and all(t["stoppedEarly"] and t["iterations"] == 1 for t in lagging), out["trials"]
    assert any(t["iterations"] == 3 for t in out["trials"])  # the leader ran to maxT
    assert r["bestConfig"]["lr"] == 0.05 and r["bestConfig"]["hidden"] in (4, 32) and r["bestMetric"] > 0.8
    meta = json.loads((Path(out["checkpointPath"]) / "raydt_meta.json").read_text())
    assert meta["config"]["hidden"] == r["bestConfig"]["hidden"]  # the trial's width is what was saved
    assert meta["config"]["precision"] == "bf16"


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plain-pytorch"


@pytest.mark.parametrize(
    ("name", "metric", "bound"),
    [
        ("cnn", "val_accuracy", 0.9),
        pytest.param("regression", "val_loss", 0.6, marks=pytest.mark.e2e),  # `make test-e2e`: CI runs the CNN
    ],
)
def test_the_bundled_examples_reach_their_figures_on_two_workers(
    shared_ray: None, tmp_path: Path, name: str, metric: str, bound: float
) -> None:
    """The CNN on the bundled digit images (2 DDP workers, bf16, cosine) and the regression MLP on scikit-learn's
    diabetes data (mse, early stopping), as a user runs them: README states 0.94 and 0.46."""
    import yaml

    spec = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    spec["runConfig"]["storagePath"] = str(tmp_path)
    if name == "regression":
        spec["trainConfig"]["epochs"] = 12  # of 30 (patience 5): CI's time; 12 reach the figure
    for key in ("model", "data", "preprocess", "postprocess"):
        if key in spec["trainConfig"]:
            spec["trainConfig"][key] = f"{EXAMPLES}/{spec['trainConfig'][key]}"
    out = raydt.run(spec)
    assert out["status"] == "success", out
    value = out["results"]["bestMetrics"][metric]
    assert (value >= bound) if metric == "val_accuracy" else (value <= bound), out["results"]


def test_serve_answers_as_the_trained_model(
    trained: tuple[dict[str, Any], Path], tmp_path: Path, servers: list[Server]
) -> None:
    import torch

    from raydt.frameworks.pytorch.user.predictor import Predictor

    out, _ = trained
    server = Server(tmp_path, {"experimentPath": out["experimentPath"]})  # no predictorPath: raydt's own
    servers.append(server)
    assert server.out["status"] == "success" and server.out["checkpointPath"] == out["checkpointPath"]
    code, meta = server.call("/metadata")
    assert code == 200 and meta["inputShape"] == [None, 8] and meta["numClasses"] == 2
    x = torch.randn(20, 8, generator=torch.Generator().manual_seed(2))
    code, body = server.call("/predict", {"instances": x.tolist(), "probabilities": True})
    assert code == 200, body
    direct = Predictor(out["checkpointPath"])
    assert body["predictions"] == direct.predict(x.tolist())
    expected = direct.predict_proba(x[:1].tolist())[0]
    assert all(abs(a - b) < 1e-5 for a, b in zip(body["probabilities"][0], expected, strict=True))
    code, body = server.call("/predict", {"instances": [[1.0, 2.0]]})
    assert code == 400 and "shape [8] (got [2])" in body["error"]


# FSDP: the same model, which records (once per rank) the class FSDP2's fully_shard gave it; and a postprocess that
# mode serve answers with (saved with the checkpoint by trainConfig.postprocess).
SHARDED = """
import os

import torch.distributed as dist
from torch import nn

SEEN = {seen!r}


class Net(nn.Module):
    def __init__(self, hidden=16, features=8):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, x):
        if dist.is_initialized():
            with open(os.path.join(SEEN, f"class-rank{{dist.get_rank()}}.txt"), "w") as fh:
                fh.write(type(self).__name__)
        return self.net(x)


def postprocess(outputs, instances):
    probs = outputs.softmax(dim=1)
    return [{{"label": int(p.argmax()), "p": round(float(p.max()), 6), "n": len(x)}} for p, x in zip(probs, instances)]
"""


@pytest.fixture(scope="module")
def sharded(shared_ray: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One 2-worker FSDP run of 2 epochs (with gradient clipping, which FSDP's sharded gradients must support)."""
    tmp_path = tmp_path_factory.mktemp("fsdp")
    code, seen = _files(tmp_path, "fsdp")
    (code / "sharded.py").write_text(textwrap.dedent(SHARDED.format(seen=str(seen))))
    spec = _spec(tmp_path, code, "fsdp", epochs=2, gradClip=1.0)
    spec["trainConfig"].update(
        model=f"{code}/sharded.py:Net", strategy="fsdp", postprocess=f"{code}/sharded.py:postprocess"
    )
    return raydt.run(spec), seen


def test_fsdp_shards_the_model_over_two_workers_and_saves_its_full_state(sharded: tuple[dict[str, Any], Path]) -> None:
    import torch

    out, seen = sharded
    assert out["status"] == "success", out
    assert [(seen / f"class-rank{r}.txt").read_text() for r in (0, 1)] == ["FSDPNet", "FSDPNet"]  # fully_shard's
    losses = [row["metrics"]["train_loss"] for row in helper.ledger(out["experimentPath"]) if "metrics" in row]
    assert len(losses) == 2 and losses[1] < losses[0], losses
    assert out["results"]["finalMetrics"]["val_accuracy"] > 0.8
    # the checkpoint holds the full state, under the plain model's names: it loads into an unwrapped Net
    state = torch.load(Path(out["checkpointPath"]) / "model.pt", weights_only=False)
    assert {k: tuple(v.shape) for k, v in state["model"].items()} == {
        "net.0.weight": (16, 8),
        "net.0.bias": (16,),
        "net.2.weight": (2, 16),
        "net.2.bias": (2,),
    }
    moments = state["optimizer"]["state"]["net.0.weight"]["exp_avg"]  # Adam's state gathered too, not a shard
    assert tuple(moments.shape) == (16, 8) and state["epoch"] == 2


def test_serve_answers_with_the_users_postprocess(
    sharded: tuple[dict[str, Any], Path], tmp_path: Path, servers: list[Server]
) -> None:
    import torch

    from raydt.frameworks.pytorch.user.predictor import Predictor

    out, _ = sharded
    server = Server(tmp_path, {"checkpointPath": out["checkpointPath"]})  # no predictorPath: the checkpoint says
    servers.append(server)
    assert server.out["status"] == "success", server.out
    x = torch.randn(6, 8, generator=torch.Generator().manual_seed(3))
    code, body = server.call("/predict", {"instances": x.tolist()})
    assert code == 200, body
    direct = Predictor(out["checkpointPath"])
    with torch.no_grad():
        labels = direct.model(x).argmax(dim=1).tolist()
    assert [p["label"] for p in body["predictions"]] == labels and {p["n"] for p in body["predictions"]} == {8}
    assert all(0.5 <= p["p"] <= 1 for p in body["predictions"])


def test_the_user_model_reads_dataconfig_shards_and_serves_raw_rows(shared_ray: None, tmp_path: Path) -> None:
    """dataConfig (Ray Data) instead of trainConfig.data: each worker trains on its shard of a CSV whose label is
    a string; the checkpoint carries the fitted pipeline, so the built-in predictor answers raw rows with labels."""
    import numpy as np

    from raydt.serving.loading import make_predictor

    code, _ = _files(tmp_path, "data")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8)).round(4)
    labels = np.where(x[:, 0] + x[:, 1] > 0, "up", "down")
    rows = [",".join([*map(str, r), lab]) for r, lab in zip(x.tolist(), labels, strict=True)]
    (tmp_path / "rows.csv").write_text("\n".join([",".join([*"abcdefgh", "direction"]), *rows]) + "\n")
    spec = _spec(tmp_path, code, "data", epochs=2)
    del spec["trainConfig"]["data"]
    spec["dataConfig"] = {"train": {"format": "csv", "paths": str(tmp_path / "rows.csv"), "label": "direction"}}
    out = raydt.run(spec)
    assert out["status"] == "success", out
    assert out["results"]["finalMetrics"]["val_accuracy"] > 0.8, out["results"]["finalMetrics"]
    predictor = make_predictor({"checkpoint": out["checkpointPath"]})  # the built-in one: pipeline, then labels
    answer = predictor.predict(predictor.rows(x.tolist()))["predictions"]
    assert set(answer) <= {"up", "down"} and sum(a == b for a, b in zip(answer, labels, strict=True)) >= 320

    # mode predict with the user model's checkpoint: every row scored as the serve replica's loader scores it
    scored_dir = tmp_path / "scored"
    predict = {
        "mode": "predict",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 0.5}},
        "predictConfig": {
            "checkpointPath": out["checkpointPath"],
            "data": {"format": "csv", "paths": str(tmp_path / "rows.csv"), "features": list("abcdefgh")},
            "keepColumns": ["a", "b"],
            "output": {"path": str(scored_dir), "format": "csv"},
            "batchSize": 50,
        },
    }
    done = raydt.run(predict)
    assert done["status"] == "success" and done["results"]["rowsOut"] == 400, done
    import pandas as pd

    scored = pd.concat(pd.read_csv(f) for f in sorted(scored_dir.glob("*.csv")))
    assert len(scored) == 400 and list(scored.columns) == ["a", "b", "prediction"]
    expected = {(r[0], r[1]): a for r, a in zip(x.tolist(), answer, strict=True)}  # rows keyed by two features
    assert len(expected) == 400
    assert all(expected[(a, b)] == p for a, b, p in scored.itertuples(index=False)), scored.head()
