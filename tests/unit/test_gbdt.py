"""The built-in XGBoost and LightGBM loops (their shared part: frameworks/gbdt.py) run in Ray Train's local mode, one
process and no Ray started: each round reports raydt's metric names, checkpoints carry raydt_meta.json at
runConfig.checkpoint.frequency, a run resumes from a checkpoint, and the bundled data is split by rank."""

from __future__ import annotations

import importlib
import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray")
ROUNDS = {"xgboost": "numBoostRound", "lightgbm": "num_boost_round"}
METRICS = {"train_logloss", "train_error", "val_logloss", "val_error"}


@pytest.fixture
def local_train(tmp_path: Path) -> Iterator[Any]:
    """Ray Train's local mode (what ``num_workers=0`` uses): ``start()`` returns a fresh list that records each
    report, its checkpoint copied."""
    from ray.train.v2._internal.execution.train_fn_utils import LocalTrainFnUtils, set_train_fn_utils

    copies = itertools.count()

    class Recording(LocalTrainFnUtils):  # type: ignore[misc]
        reports: list[tuple[dict[str, Any], Path | None]]

        def report(self, metrics: dict[str, Any], checkpoint: Any = None, **_: Any) -> None:
            kept = None
            if checkpoint is not None:
                kept = tmp_path / f"checkpoint_{next(copies)}"
                shutil.copytree(checkpoint.path, kept)
            self.reports.append((metrics, kept))

    def start(rank: int = 0, world: int = 1) -> list[tuple[dict[str, Any], Path | None]]:
        utils = Recording(experiment_name="local", world_size=world, world_rank=rank)
        utils.reports = []
        set_train_fn_utils(utils)
        return utils.reports

    yield start
    set_train_fn_utils(None)


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
def test_a_gbdt_loop_reports_each_round_checkpoints_and_resumes(framework: str, local_train: Any) -> None:
    pytest.importorskip(framework)
    loop = importlib.import_module(f"raydt.frameworks.{framework}.trainer").train_loop
    reports = local_train()
    loop({"seed": 0, ROUNDS[framework]: 4, "_raydt": {"checkpointFrequency": 2}})
    assert len(reports) == 4 and all(set(metrics) == METRICS for metrics, _ in reports)
    saved = [path for _, path in reports if path is not None]
    assert len(saved) == 2  # rounds 2 and 4
    meta = json.loads((saved[-1] / "raydt_meta.json").read_text())
    assert meta["framework"] == framework and meta["numFeatures"] == 30
    assert meta["config"][ROUNDS[framework]] == 4

    done = local_train()
    loop({"seed": 0, ROUNDS[framework]: 4, "_raydt": {"resumeFrom": str(saved[-1])}})
    assert done == []  # every round is in the checkpoint: nothing left to train
    more = local_train()
    loop({"seed": 0, ROUNDS[framework]: 6, "_raydt": {"resumeFrom": str(saved[-1])}})
    assert more and more[-1][0]["train_logloss"] < reports[-1][0]["train_logloss"]  # the rounds left, continued


def test_the_bundled_data_is_split_by_rank(local_train: Any) -> None:
    from raydt.frameworks import gbdt

    local_train(rank=1, world=2)
    data, x, y, world = gbdt.worker_rows({})
    assert world == 2 and (x == data.x_train[1::2]).all() and (y == data.y_train[1::2]).all()
