"""framework: lightning on a real local Ray: a LightningModule and its data (files that exist only in tmp_path,
written as a Lightning user writes them) trained on 2 Ray Train workers with Ray's Lightning integration, a worker
killed mid-run and resumed from Lightning's checkpoint, a 2-trial search over the module's keyword arguments, and
the checkpoint served."""

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
import lightning.pytorch as pl
import torch
from torch import nn


class Lit(pl.LightningModule):
    def __init__(self, hidden=16, lr=0.01, features=8):
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", nn.functional.cross_entropy(logits, y), sync_dist=True)
        self.log("val_accuracy", (logits.argmax(dim=1) == y).float().mean(), sync_dist=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)
"""

# The train Dataset writes which rows each DDP rank read (one file per process). With KILL set, rank 1 kills its
# own process once, in its second epoch, after Ray Train has registered epoch 1's report (a marker file).
DATA = """
import os
import signal
import time

import lightning.pytorch as pl
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset

SEEN = {seen!r}
KILL = {kill!r}


class Rows(Dataset):
    def __init__(self, x, y, name):
        self.x, self.y, self.name, self.reads = x, y, name, 0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        rank = dist.get_rank() if dist.is_initialized() else 0
        if self.name == "train":
            self.reads += 1
            with open(os.path.join(SEEN, f"rank{{rank}}-{{os.getpid()}}.txt"), "a") as fh:
                fh.write(f"{{i}}\\n")
            marker = os.path.join(SEEN, "killed")
            if KILL and rank == 1 and self.reads > len(self.x) // 2 + 5 and not os.path.exists(marker):
                open(marker, "w").close()
                time.sleep(3)
                os.kill(os.getpid(), signal.SIGKILL)
        return self.x[i], self.y[i]


def _rows():
    g = torch.Generator().manual_seed(0)
    x = torch.randn({rows} + {val_rows}, 8, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return Rows(x[:{rows}], y[:{rows}], "train"), Rows(x[{rows}:], y[{rows}:], "validation")


def load_data(config):
    return _rows()


class Module(pl.LightningDataModule):
    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = batch_size

    def setup(self, stage=None):
        self.train, self.val = _rows()

    def train_dataloader(self):
        return DataLoader(self.train, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.val, batch_size=self.batch_size)


def datamodule(config):
    return Module(config["batchSize"])
"""


def _files(tmp_path: Path, name: str, kill: bool = False) -> tuple[Path, Path]:
    code, seen = tmp_path / f"code-{name}", tmp_path / f"seen-{name}"
    code.mkdir()
    seen.mkdir()
    (code / "models.py").write_text(textwrap.dedent(MODELS))
    (code / "data.py").write_text(DATA.format(seen=str(seen), kill=kill, rows=ROWS, val_rows=VAL_ROWS))
    return code, seen


def _spec(tmp_path: Path, code: Path, name: str, mode: str = "train", **loop: Any) -> dict[str, Any]:
    return {
        "mode": mode,
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {
            "framework": "lightning",
            "model": f"{code}/models.py:Lit",
            "data": f"{code}/data.py:load_data",
            "metric": "val_accuracy",
            "metricMode": "max",
            "trainLoopConfig": {"lr": 0.05, "batchSize": 16, "hidden": 16, **loop},
        },
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": name, "maxFailures": 2},
    }


@pytest.fixture(scope="module")
def trained(shared_ray: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One 2-worker run of 3 epochs whose rank 1 is SIGKILLed in epoch 2: its result and the per-rank reads."""
    tmp_path = tmp_path_factory.mktemp("lightning")
    code, seen = _files(tmp_path, "ddp", kill=True)
    return raydt.run(_spec(tmp_path, code, "ddp", epochs=3)), seen


def test_two_workers_train_the_module_and_resume_a_killed_worker(trained: tuple[dict[str, Any], Path]) -> None:
    out, seen = trained
    assert out["status"] == "success", out
    assert out["framework"] == "lightning" and (seen / "killed").exists() and out["restarts"] == 1
    r = out["results"]
    assert r["iterations"] == 3 and r["finalMetrics"]["epoch"] == 3
    assert {"train_loss", "val_loss", "val_accuracy", "step"} <= set(r["finalMetrics"]), r["finalMetrics"]
    assert r["finalMetrics"]["val_accuracy"] > 0.85  # it learns x0 + x1 > 0
    assert r["bestConfig"]["hidden"] == 16 and "optimizer" not in r["bestConfig"]  # no PyTorch-loop defaults

    epochs = [row["metrics"]["epoch"] for row in helper.ledger(out["experimentPath"]) if "metrics" in row]
    assert epochs == [1, 2, 3], epochs  # epoch 1 reported once: the restart resumed from its checkpoint
    # DDP split the data: each rank read ROWS/2 rows an epoch, disjoint from the other's in epoch 1; after the
    # restart each rank's new process read epochs 2 and 3 only (Lightning's ckpt_path: no epoch trained twice)
    reads = helper.reads(seen)
    assert sorted(reads) == [0, 1] and all(len(procs) == 2 for procs in reads.values()), reads.keys()
    first = [set(reads[rank][0][: ROWS // 2]) for rank in (0, 1)]
    assert not first[0] & first[1] and len(first[0] | first[1]) == ROWS
    assert [len(reads[rank][1]) for rank in (0, 1)] == [ROWS, ROWS]

    ckpt = Path(out["checkpointPath"])
    assert {"checkpoint.ckpt", "model.pt", "raydt_meta.json"} <= {p.name for p in ckpt.iterdir()}
    meta = json.loads((ckpt / "raydt_meta.json").read_text())
    assert meta["framework"] == "lightning" and meta["task"] == "classification" and meta["inputShape"] == [8]
    assert meta["numClasses"] == 2 and meta["config"]["lr"] == 0.05


def test_a_new_run_continues_from_the_lightning_checkpoint(
    trained: tuple[dict[str, Any], Path], shared_ray: None, tmp_path: Path
) -> None:
    import torch

    out, _ = trained
    saved = torch.load(Path(out["checkpointPath"]) / "model.pt", weights_only=False)["epoch"]  # the best: 2 or 3
    code, seen = _files(tmp_path, "more")
    spec = _spec(tmp_path, code, "more", epochs=4)
    spec["config"] = {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}}  # a world of 1: RayDDPStrategy still
    spec["trainConfig"]["resumeFromCheckpoint"] = out["checkpointPath"]
    more = raydt.run(spec)
    assert more["status"] == "success", more
    epochs = [row["metrics"]["epoch"] for row in helper.ledger(more["experimentPath"]) if "metrics" in row]
    assert epochs == list(range(saved + 1, 5)), (saved, epochs)  # Trainer.fit(ckpt_path=...) went on from there
    assert [len(p) for p in helper.reads(seen)[0]] == [ROWS * (4 - saved)]  # only those epochs read, by the one worker
    assert more["results"]["finalMetrics"]["val_accuracy"] > 0.85


def test_tune_searches_the_modules_keyword_arguments(shared_ray: None, tmp_path: Path) -> None:
    code, _ = _files(tmp_path, "tune")
    spec = _spec(tmp_path, code, "tune", mode="tune", epochs=2)
    spec["config"] = {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}}  # in-process trials
    spec["trainConfig"]["data"] = f"{code}/data.py:datamodule"  # a LightningDataModule this time
    for key in ("hidden", "lr"):
        del spec["trainConfig"]["trainLoopConfig"][key]
    spec["tuneConfig"] = {
        "numSamples": 2,
        "searchAlgorithm": "random",
        "metric": "val_accuracy",
        "mode": "max",
        "seed": 0,
        "searchSpace": {
            "lr": {"type": "loguniform", "min": 0.01, "max": 0.05},
            "hidden": {"type": "choice", "values": [4, 32]},
        },
    }
    out = raydt.run(spec)
    assert out["status"] == "success", out
    r = out["results"]
    assert r["numTrials"] == 2 and r["completedTrials"] == 2
    assert r["bestConfig"]["hidden"] in (4, 32) and 0.01 <= r["bestConfig"]["lr"] <= 0.05
    assert r["bestMetric"] > 0.7
    meta = json.loads((Path(out["checkpointPath"]) / "raydt_meta.json").read_text())
    assert meta["config"]["hidden"] == r["bestConfig"]["hidden"]  # the trial's width is what was saved
    assert meta["config"]["lr"] == r["bestConfig"]["lr"]


def test_serve_answers_as_the_module_run_directly(
    trained: tuple[dict[str, Any], Path], tmp_path: Path, servers: list[Server]
) -> None:
    import torch

    from raydt.frameworks.lightning.user.code import build_module

    out, _ = trained
    server = Server(tmp_path, {"experimentPath": out["experimentPath"]})  # no predictorPath: raydt's own
    servers.append(server)
    assert server.out["status"] == "success" and server.out["checkpointPath"] == out["checkpointPath"]
    code, meta = server.call("/metadata")
    assert code == 200 and meta["inputShape"] == [None, 8] and meta["numClasses"] == 2

    saved = json.loads((Path(out["checkpointPath"]) / "raydt_meta.json").read_text())
    module = build_module(saved["userModel"]["model"], saved["config"])
    state = torch.load(Path(out["checkpointPath"]) / "checkpoint.ckpt", weights_only=False)["state_dict"]
    module.load_state_dict(state)  # Lightning's own checkpoint, not raydt's copy of it
    module.eval()
    x = torch.randn(20, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        logits = module(x)
    code, body = server.call("/predict", {"instances": x.tolist(), "probabilities": True})
    assert code == 200, body
    assert body["predictions"] == logits.argmax(dim=1).tolist()
    expected = logits.softmax(dim=1)[0].tolist()
    assert all(abs(a - b) < 1e-5 for a, b in zip(body["probabilities"][0], expected, strict=True))
    code, body = server.call("/predict", {"instances": [[1.0, 2.0]]})
    assert code == 400 and "shape [8] (got [2])" in body["error"]
