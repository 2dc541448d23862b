"""framework transformers' loop pieces without a cluster: the LR schedule, one epoch over a shard (a stand-in with
Ray Data's iter_torch_batches), the checkpoint a restart resumes from, and batch generation's prompt rows."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

# torch, Transformers and PEFT (~5 s) are imported by the tests that need them, not at every worker's collection
pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("peft") is None, reason="peft is not installed"),
]


class Shard:
    """Ray Data's DataIterator as the loop reads it: iter_torch_batches over fixed rows."""

    def __init__(self, rows: list[tuple[list[int], list[int], list[int]]]) -> None:
        self.rows = rows

    def iter_torch_batches(self, batch_size: int, dtypes: Any, device: Any) -> Any:
        import torch

        for i in range(0, len(self.rows), batch_size):
            part = self.rows[i : i + batch_size]
            yield {k: torch.tensor([r[j] for r in part], dtype=dtypes) for j, k in enumerate(trainer_columns())}


def trainer_columns() -> tuple[str, str, str]:
    return ("input_ids", "labels", "attention_mask")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from raydt.frameworks.transformers.lm import model as lm_model
    from raydt.frameworks.transformers.lm.text import encode, pad, pad_id_of
    from tests.llm_fixture import fact_rows, fact_texts, tiny_pretrained

    folder = tiny_pretrained(tmp_path_factory.mktemp("llm") / "base", fact_texts())
    refs = {"pretrained": str(folder), "tokenizer": str(folder), "hfCache": "", "mergeAdapter": False}
    refs["lora"] = {"targetModules": "all-linear", "bits": None}
    tokenizer = lm_model.load_tokenizer(refs)
    rows = [pad(encode(r, "instruction", tokenizer, 48), 48, pad_id_of(tokenizer)) for r in fact_rows("instruction")]
    return {"refs": refs, "tokenizer": tokenizer, "rows": rows}


def test_the_schedule_warms_up_then_decays_to_zero() -> None:
    import torch

    from raydt.frameworks.transformers import trainer

    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = trainer.schedule(opt, total_steps=10, warmup_ratio=0.2)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.5) and lrs[1] == pytest.approx(1.0)  # 2 warmup steps
    assert lrs[2] == pytest.approx(1.0) and lrs[-1] == pytest.approx(1 / 8) and lrs == sorted(lrs[:2]) + lrs[2:]


def test_epochs_learn_and_a_checkpoint_restores_weights_optimizer_and_schedule(
    tiny: dict[str, Any], tmp_path: Path
) -> None:
    import ray.train
    import torch

    from raydt.frameworks.transformers import trainer
    from raydt.frameworks.transformers.lm import model as lm_model

    hp = {"batchSize": 8, "accumulate": 1, "gradClip": 1.0, "precision": "bf16", "loraR": 8, "loraAlpha": 16.0}
    hp |= {"loraDropout": 0.0, "lr": 3e-3, "weightDecay": 0.0, "epochs": 4}
    model = lm_model.with_lora(lm_model.load_base(tiny["refs"], "bf16"), tiny["refs"], hp)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=hp["lr"])
    sched = trainer.schedule(opt, 100, 0.0)
    shard = Shard(tiny["rows"])
    first, learned, seen = trainer.run_epoch(model, shard, hp, opt, sched)
    assert learned == sum(sum(1 for t in r[1][1:] if t != -100) for r in tiny["rows"]) and seen > learned
    for _ in range(3):
        trainer.run_epoch(model, shard, hp, opt, sched)
    val, _, _ = trainer.run_epoch(model, shard, hp, None, None)
    assert val < first * 0.8  # it learns

    config = {"_raydt": {"llm": tiny["refs"], "data": {"shape": "instruction"}}, "epochs": 4}
    ckpt = trainer._save(str(tmp_path), model, opt, sched, 3, tiny["tokenizer"], config, rank=0)
    assert (tmp_path / "adapter" / "adapter_config.json").is_file() and (tmp_path / "state.pt").is_file()
    fresh = lm_model.with_lora(lm_model.load_base(tiny["refs"], "bf16"), tiny["refs"], hp)
    opt2 = torch.optim.AdamW([p for p in fresh.parameters() if p.requires_grad], lr=hp["lr"])
    sched2 = trainer.schedule(opt2, 100, 0.0)
    assert trainer._restore(ray.train.Checkpoint.from_directory(ckpt.path), fresh, opt2, sched2) == 3
    assert (
        sched2.last_epoch == sched.last_epoch and opt2.state_dict()["state"].keys() == opt.state_dict()["state"].keys()
    )
    restored, _, _ = trainer.run_epoch(fresh, shard, hp, None, None)
    assert restored == pytest.approx(val, rel=1e-3)  # the same weights: the same validation loss


def test_batch_generation_reads_each_shape_of_prompt_row() -> None:
    from raydt.predict.batch import generation_row

    class Rows:
        def rows(self, prompts: list[str]) -> list[dict[str, Any]]:
            return [{"instruction": p, "input": ""} for p in prompts]

    g = Rows()
    assert generation_row({"instruction": "q", "input": None, "id": 1}, None, g) == {"instruction": "q", "input": ""}
    assert generation_row({"prompt": "q"}, None, g) == {"instruction": "q", "input": ""}  # as the model was trained
    chat = {"messages": [{"role": "user", "content": "hi"}]}
    assert generation_row(chat, None, g) == chat
    assert generation_row({"question": "q"}, ["question"], g) == {"instruction": "q", "input": ""}
    with pytest.raises(ValueError, match="none of the prompt columns"):
        generation_row({"id": 3}, None, g)
    with pytest.raises(ValueError, match="must hold the prompt text"):
        generation_row({"question": None}, ["question"], g)
