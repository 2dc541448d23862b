"""trainConfig.model's one-batch probe: the user's model, loss, metrics and postprocess run on one batch of train in
the driver, on CPU, before Ray starts; what does not fit fails as USER_CODE_ERROR naming the functions and shapes."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

import raydt
from raydt import plan
from raydt.errors import UserCodeError
from raydt.frameworks.pytorch.user import probe
from raydt.spec import load

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plain-pytorch"

CODE = """
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset


class Net(nn.Module):
    def __init__(self, out=2, features=8):
        super().__init__()
        self.layer = nn.Linear(features, out)

    def forward(self, x):
        return self.layer(x)


def load_data():
    x = torch.randn(20, 8, generator=torch.Generator().manual_seed(0))
    y = (x[:, 0] > 0).long()
    return TensorDataset(x, y), TensorDataset(x, y)


class Dicts(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return {"x": torch.zeros(8), "y": 0}


def dict_items():
    return Dicts(), Dicts()


def per_row_loss(outputs, targets):
    return nn.functional.cross_entropy(outputs, targets, reduction="none")


def f1(outputs, targets):
    raise KeyError("positive")


def accuracy(outputs, targets):
    return (outputs.argmax(1) == targets).float().mean()


def short(outputs, instances):
    return [0]
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    path = tmp_path / "code.py"
    path.write_text(textwrap.dedent(CODE))
    return path


def _spec(code: Path, mode: str = "train", **train: Any) -> dict[str, Any]:
    tc = {"model": f"{code}:Net", "data": f"{code}:load_data", **train}
    return {"mode": mode, "config": {}, "trainConfig": tc}


def _probe(spec: dict[str, Any] | Path) -> None:
    loaded = load(spec)
    if loaded.spec.mode == "tune":
        p = plan.tune(loaded)
        probe.check(p.train.loop_config, p.search_space)
    else:
        probe.check(plan.train(loaded).loop_config)


def test_the_examples_and_a_fitting_model_pass() -> None:
    for name in ("spec.yaml", "cnn.yaml", "regression.yaml", "tune.yaml"):
        _probe(EXAMPLE / name)


def test_a_loss_that_does_not_fit_names_the_loss_the_shapes_the_functions_and_a_hint(code: Path) -> None:
    with pytest.raises(UserCodeError) as info:
        _probe(_spec(code, loss="cross_entropy", trainLoopConfig={"out": 1}))
    text = str(info.value)
    for needle in ("trainConfig.loss 'cross_entropy'", f"{code}:Net", f"{code}:load_data", "outputs (4, 1) float32"):
        assert needle in text, text
    assert "targets (4,) int64" in text and "inputs (4, 8) float32" in text and "out of bounds" in text
    assert "(N, C) logits and int64 class indices" in (info.value.hint or "")
    with pytest.raises(UserCodeError, match="trainConfig.loss .bce. does not fit") as bce:
        _probe(_spec(code, loss="bce"))  # 2 logits per row for 1 target per row
    assert "outputs (4, 2) float32" in str(bce.value) and "one logit per target" in (bce.value.hint or "")


def test_a_custom_loss_must_give_one_number_and_metrics_must_not_raise(code: Path) -> None:
    with pytest.raises(UserCodeError, match=r"per_row_loss' returned \(4,\) float32.*not a scalar"):
        _probe(_spec(code, loss=f"{code}:per_row_loss"))
    with pytest.raises(UserCodeError, match=r"metrics '.*:f1' raised KeyError on one batch \(outputs \(4, 2\)"):
        _probe(_spec(code, metrics=[f"{code}:accuracy", f"{code}:f1"]))
    with pytest.raises(UserCodeError, match=r"postprocess '.*:short' returned 1 items for 4 instances"):
        _probe(_spec(code, postprocess=f"{code}:short"))


def test_items_that_are_not_input_target_pairs_are_named(code: Path) -> None:
    with pytest.raises(UserCodeError, match=r"dict_items'.*collate to a dict of 2, not an \(input, target\) pair"):
        _probe(_spec(code, data=f"{code}:dict_items"))


def test_a_tune_run_is_probed_with_typical_values_of_the_searched_keys(code: Path) -> None:
    space = {"out": {"type": "choice", "values": [1, 3]}, "lr": {"type": "loguniform", "min": 0.001, "max": 0.1}}
    spec = {**_spec(code, "tune"), "tuneConfig": {"numSamples": 2, "searchSpace": space}}
    with pytest.raises(UserCodeError, match=r"outputs \(4, 1\) float32"):  # the choice's first value
        _probe(spec)
    assert probe.typical(plan.tune(load(spec)).search_space) == {"out": 1, "lr": 0.001}


def test_the_run_probes_before_connecting_to_ray(code: Path, tmp_path: Path) -> None:
    # a cluster address nothing listens on: reaching Ray would fail otherwise (and start nothing here)
    spec = _spec(code, loss="cross_entropy", trainLoopConfig={"out": 1})
    spec["config"] = {"address": "127.0.0.1:1"}
    spec["runConfig"] = {"storagePath": str(tmp_path / "results")}
    out = raydt.run(spec)
    assert out["status"] == "error" and out["error"]["code"] == "USER_CODE_ERROR", out
    assert "outputs (4, 1) float32" in out["error"]["message"]
