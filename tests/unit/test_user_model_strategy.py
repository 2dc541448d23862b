"""trainConfig.strategy (ddp | fsdp) for a user model: the spec's rules, and FSDP2's full state saved and loaded
back through a real gloo process group (one rank, in this process: the 2-worker run is in the slow tier)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from raydt import plan
from raydt.errors import SpecError
from raydt.frameworks.common import RESERVED_KEY
from raydt.spec import load

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plain-pytorch"


def _spec(**train: Any) -> dict[str, Any]:
    tc = {"model": f"{EXAMPLE}/models.py:MLP", "data": f"{EXAMPLE}/data.py:digits_flat", **train}
    return {"mode": "train", "config": {"numWorkers": 2}, "trainConfig": tc}


def test_the_strategy_travels_to_the_loop_and_bad_values_are_refused() -> None:
    assert plan.train(load(_spec(strategy="fsdp"))).loop_config[RESERVED_KEY]["userModel"]["strategy"] == "fsdp"
    assert plan.train(load(_spec())).loop_config[RESERVED_KEY]["userModel"]["strategy"] == "ddp"
    with pytest.raises(SpecError, match="trainConfig.strategy"):
        load(_spec(strategy="zero3"))
    with pytest.raises(SpecError, match=r"trainConfig.strategy: needs trainConfig.model"):
        load({"mode": "train", "config": {}, "trainConfig": {"strategy": "fsdp"}})


@pytest.fixture
def process_group(tmp_path: Path) -> Iterator[None]:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path}/store", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def _sharded_mlp() -> Any:
    from torch import nn
    from torch.distributed.fsdp import fully_shard

    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    for layer in (model[0], model[2], model):
        fully_shard(layer)
    return model


def test_fsdp_state_is_saved_full_and_loads_back_into_the_shards(process_group: None) -> None:
    import torch

    from raydt.frameworks.pytorch.user import optim, strategy
    from raydt.frameworks.pytorch.user.loop import params

    torch.manual_seed(0)
    hp = params({"schedule": "cosine"})
    model = _sharded_mlp()
    opt = optim.build(hp, model.parameters(), 4, "cpu")
    model(torch.randn(3, 4)).sum().backward()
    opt.optimizer.step()
    opt.scheduler.step()
    saved = strategy.states(model, opt)
    assert strategy.sharded(model)
    # plain tensors under the plain model's names (what serving loads), Adam's moments by parameter name
    assert {k: type(v).__name__ for k, v in saved["model"].items()} == dict.fromkeys(
        ("0.weight", "0.bias", "2.weight", "2.bias"), "Tensor"
    )
    assert tuple(saved["optimizer"]["state"]["0.weight"]["exp_avg"].shape) == (6, 4) and "scheduler" in saved

    again = _sharded_mlp()  # a restarted worker: fresh shards and optimizer, then the checkpoint
    opt2 = optim.build(hp, again.parameters(), 4, "cpu")
    strategy.load(again, opt2, saved)
    x = torch.randn(5, 4)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
    moments = strategy.states(again, opt2)["optimizer"]["state"]["2.weight"]["exp_avg"]
    assert torch.equal(moments, saved["optimizer"]["state"]["2.weight"]["exp_avg"])
    assert opt2.scheduler.last_epoch == 1


def test_a_ddp_or_plain_model_saves_its_own_state_dict() -> None:
    import torch
    from torch import nn

    from raydt.frameworks.pytorch.user import optim, strategy
    from raydt.frameworks.pytorch.user.loop import params

    model = nn.Linear(3, 2)
    opt = optim.build(params({}), model.parameters(), 1, "cpu")
    saved = strategy.states(model, opt)
    assert not strategy.sharded(model) and set(saved) == {"model", "optimizer", "scaler"}
    other = nn.Linear(3, 2)
    strategy.load(other, optim.build(params({}), other.parameters(), 1, "cpu"), saved)
    assert torch.equal(other.weight, model.weight)


def test_a_torch_without_fsdp2_is_a_spec_error_in_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch.distributed.fsdp

    from raydt.frameworks.pytorch.user.strategy import check_available

    check_available("fsdp")  # this torch (2.13) has fully_shard
    check_available("ddp")
    monkeypatch.delattr(torch.distributed.fsdp, "fully_shard")  # as torch before 2.6 had it: not public
    with pytest.raises(SpecError) as info:
        check_available("fsdp")
    (issue,) = info.value.issues
    assert issue.path == "trainConfig.strategy" and "fully_shard" in issue.rule and "strategy: ddp" in issue.hint
