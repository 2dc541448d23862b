"""Every built-in loss of raydt's loop (and a user's loss file) trains a model on real torch, without Ray; and a
user function whose signature cannot be called as raydt calls it is refused by validation, at its path."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from raydt.errors import SpecError
from raydt.spec import load

LOSS_FILE = """
from torch import nn


def smooth(outputs, targets):
    return nn.functional.smooth_l1_loss(outputs, targets)
"""


def _data(loss: str) -> tuple[Any, Any, Any]:
    """A model and loaders: one output per row, a 0/1 target for bce, a linear target for the regression losses."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).float() if loss == "bce" else 2 * x[:, 0] - x[:, 1] + 0.5
    if ":" in loss:  # a user's loss gets the targets as the dataset gives them: shaped as the output here
        y = y.view(-1, 1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    train = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=g)
    return model, train, DataLoader(TensorDataset(x, y), batch_size=256)


@pytest.mark.parametrize("loss", ["mse", "l1", "huber", "bce", "file"])
def test_each_loss_trains_and_only_bce_reports_accuracy(loss: str, tmp_path: Path) -> None:
    import torch

    from raydt.frameworks.pytorch.user import optim
    from raydt.frameworks.pytorch.user.code import make_loss
    from raydt.frameworks.pytorch.user.loop import evaluate, params, train_epoch

    if loss == "file":
        (tmp_path / "losses.py").write_text(textwrap.dedent(LOSS_FILE))
        loss = f"{tmp_path}/losses.py:smooth"
    torch.manual_seed(0)
    model, train, val = _data(loss)
    hp = {**params({"lr": 0.02, "epochs": 8}), "_loss": loss}
    loss_fn, classification = make_loss(loss)
    assert classification == (loss == "bce")
    opt = optim.build(hp, model.parameters(), len(train), "cpu")
    before = evaluate(model, val, loss_fn, hp, classification, [])
    for _ in range(8):
        train_epoch(model, train, opt, loss_fn, hp)
    after = evaluate(model, val, loss_fn, hp, classification, [])
    assert after["val_loss"] < 0.5 * before["val_loss"], (before, after)
    assert ("val_accuracy" in after) == classification
    if classification:
        assert after["val_accuracy"] > 0.9, after


SIGNATURES = """
class Net:
    pass


def model(config, seed, device):
    pass


def data(config, split):
    pass


def loss(outputs, targets, weights):
    pass


def metric(outputs, targets, k):
    pass


async def async_metric(outputs, targets):
    pass
"""


def test_functions_raydt_cannot_call_as_it_calls_them_are_refused_at_their_path(tmp_path: Path) -> None:
    code = tmp_path / "code.py"
    code.write_text(textwrap.dedent(SIGNATURES))
    tc = {
        "model": f"{code}:model",
        "data": f"{code}:data",
        "loss": f"{code}:loss",
        "metrics": [f"{code}:metric", f"{code}:async_metric", f"{code}:Net", f"{code}:missing"],
    }
    with pytest.raises(SpecError) as info:
        load({"mode": "train", "config": {}, "trainConfig": tc})
    found = {i.path: str(i) for i in info.value.issues}
    assert "must take (config) or (); model requires 3 arguments" in found["trainConfig.model"]
    assert "must take (config) or (); data requires 2 arguments" in found["trainConfig.data"]
    assert "must take (outputs, targets); loss requires 3 arguments" in found["trainConfig.loss"]
    assert "must take (outputs, targets); metric requires 3 arguments" in found["trainConfig.metrics[0]"]
    assert "plain function (it is async)" in found["trainConfig.metrics[1]"]
    assert "plain function (it is a class)" in found["trainConfig.metrics[2]"]
    assert "function 'missing' is not defined" in found["trainConfig.metrics[3]"]
    assert all(str(i.value).startswith(f"{code}:") for i in info.value.issues)  # each names its file and function
