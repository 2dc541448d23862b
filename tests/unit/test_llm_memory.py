"""The memory preflight of framework: transformers (raydt.frameworks.transformers.lm.memory): counts on the meta device
against real models and PEFT, the estimation rule, and the refusal of what cannot fit."""

from __future__ import annotations

import importlib.util
import json
import time

import pytest

from raydt.frameworks.transformers.lm import budget, counting, memory

# Transformers and torch are imported by the tests that need them, not at every worker's collection
pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("transformers") is None or importlib.util.find_spec("torch") is None,
        reason="transformers and torch are not installed",
    ),
]

TINY = {
    "model_type": "llama",
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,  # k/v projections 64 -> 32: LoRA's r*(in+out) must use each layer's own shape
    "vocab_size": 100,
}
SEVEN_B = {
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "vocab_size": 32000,
}
GB = 10**9


@pytest.fixture(scope="module")
def tiny_count() -> memory.ModelCount:
    return memory.count_parameters(TINY)


@pytest.fixture(scope="module")
def seven_b() -> memory.ModelCount:
    return memory.count_parameters(SEVEN_B)


def _real_tiny() -> object:
    from transformers import AutoConfig, LlamaForCausalLM

    values = dict(TINY)
    return LlamaForCausalLM(AutoConfig.for_model(values.pop("model_type"), **values))


def test_meta_count_equals_the_real_model(tiny_count: memory.ModelCount, tmp_path) -> None:
    real = _real_tiny()
    assert tiny_count.params == sum(p.numel() for p in real.parameters())  # type: ignore[attr-defined]
    assert (tiny_count.hidden_size, tiny_count.num_layers, tiny_count.vocab_size) == (64, 2, 100)
    assert tiny_count.output_layer == "lm_head"
    # a pretrained folder (its config.json) counts the same
    real.config.save_pretrained(tmp_path)  # type: ignore[attr-defined]
    assert memory.count_parameters(tmp_path).params == tiny_count.params
    (tmp_path / "only.json").write_text(json.dumps(TINY))
    assert memory.count_parameters(tmp_path / "only.json").params == tiny_count.params


def test_tied_embeddings_count_once() -> None:
    from transformers import AutoConfig, AutoModelForCausalLM

    gpt2 = {"n_embd": 32, "n_layer": 1, "n_head": 2, "vocab_size": 100, "bos_token_id": 0, "eos_token_id": 0}
    real = AutoModelForCausalLM.from_config(AutoConfig.for_model("gpt2", **gpt2))
    assert real.config.tie_word_embeddings
    counted = memory.count_parameters({"model_type": "gpt2", **gpt2})
    assert counted.params == sum(p.numel() for p in real.parameters())
    # GPT-2's Conv1D layers count as linear (in, out) for LoRA: c_attn is 32 -> 96
    assert ("transformer.h.0.attn.c_attn", 32, 96) in counted.linears


@pytest.mark.parametrize("targets", [["q_proj", "v_proj"], "all-linear"])
def test_lora_trainable_equals_peft(tiny_count: memory.ModelCount, targets: object) -> None:
    from peft import LoraConfig, get_peft_model

    peft_model = get_peft_model(_real_tiny(), LoraConfig(r=8, target_modules=targets, task_type="CAUSAL_LM"))
    peft_trainable, peft_all = peft_model.get_nb_trainable_parameters()
    assert peft_trainable == sum(p.numel() for p in peft_model.parameters() if p.requires_grad)

    est = memory.estimate(tiny_count, lora={"r": 8, "targetModules": targets})
    assert est.trainable == peft_trainable
    assert est.params == peft_all
    assert est.gradients == 4 * peft_trainable and est.optimizer == 8 * peft_trainable
    assert est.weights == 4 * peft_all  # fp32: frozen base and adapters alike
    # bf16: the frozen base in 2 bytes, the adapters in fp32
    bf16 = memory.estimate(tiny_count, precision="bf16", lora={"r": 8, "targetModules": targets})
    assert bf16.weights == 2 * (peft_all - peft_trainable) + 4 * peft_trainable


def test_qlora_bits_and_spec_objects(seven_b: memory.ModelCount) -> None:
    from types import SimpleNamespace

    bf16 = memory.estimate(seven_b, precision="bf16", lora={"r": 8})  # targetModules defaults to all-linear
    spec_like = SimpleNamespace(r=8, target_modules="all-linear", bits=4)  # the spec's pydantic model's attributes
    qlora = memory.estimate(seven_b, precision="bf16", lora=spec_like)
    assert qlora.lora == memory.Lora(8, "all-linear", 4) and qlora.trainable == bf16.trainable
    quantized = sum(x.in_features * x.out_features for x in seven_b.linears if x.name != "lm_head")
    frozen = qlora.params - qlora.trainable
    assert qlora.weights == 4 * qlora.trainable + 2 * (frozen - quantized) + quantized // 2
    assert qlora.weights < bf16.weights / 3
    with pytest.raises(ValueError, match="bits"):
        memory.estimate(seven_b, lora={"bits": 3})


def test_all_linear_leaves_out_lm_head_and_bad_targets_fail(tiny_count: memory.ModelCount) -> None:
    targets = memory.lora_targets(tiny_count, memory.Lora(4, "all-linear"))
    assert "lm_head" not in {t.name for t in targets}
    assert len(targets) == 7 * 2  # q k v o gate up down per layer
    with pytest.raises(ValueError, match="matches no linear layer"):
        memory.estimate(tiny_count, lora={"r": 4, "targetModules": ["no_such_proj"]})


def test_precision_changes_only_activations_as_stated(tiny_count: memory.ModelCount) -> None:
    kw = {"batch_size": 4, "max_seq_len": 32}
    fp32 = memory.estimate(tiny_count, precision="fp32", **kw)
    bf16 = memory.estimate(tiny_count, precision="bf16", **kw)
    assert (fp32.weights, fp32.gradients, fp32.optimizer) == (bf16.weights, bf16.gradients, bf16.optimizer)
    logits = 8 * 4 * 32 * 100
    per_layer = 4 * 32 * 64 * 16 * 2  # b*s*h * 16 values * 2 layers
    assert fp32.activations == per_layer * 4 + logits
    assert bf16.activations == per_layer * 2 + logits
    ckpt = memory.estimate(tiny_count, precision="bf16", gradient_checkpointing=True, **kw)
    assert ckpt.activations == 4 * 32 * 64 * 2 * (2 * 2 + 16) + logits
    assert fp32.weights == 4 * tiny_count.params  # full fine-tune: fp32 master weights whatever the precision
    assert fp32.total == fp32.weights + fp32.gradients + fp32.optimizer + fp32.activations


def test_fsdp_divides_weights_gradients_optimizer(seven_b: memory.ModelCount) -> None:
    ddp = memory.estimate(seven_b, strategy="ddp", workers=4, batch_size=2, max_seq_len=256)
    fsdp = memory.estimate(seven_b, strategy="fsdp", workers=4, batch_size=2, max_seq_len=256)
    assert ddp.weights == 4 * seven_b.params  # DDP: a full copy per worker
    for part in ("weights", "gradients", "optimizer"):
        assert getattr(fsdp, part) == -(-getattr(ddp, part) // 4)
    assert fsdp.activations == ddp.activations


def test_check_refuses_an_oversized_full_fine_tune(seven_b: memory.ModelCount) -> None:
    assert 6.5e9 < seven_b.params < 7e9
    est = memory.estimate(seven_b, precision="bf16", batch_size=1, max_seq_len=128, gradient_checkpointing=True)
    message = budget.check(est, 16 * GB, "each worker (config.resourcesPerWorker.memoryGb)")
    assert message is not None
    assert f"{est.total / 1e9:.1f} GB" in message and "16.0 GB" in message
    assert "each worker (config.resourcesPerWorker.memoryGb)" in message and "14.4 GB usable" in message
    assert "weights" in message and "optimizer" in message and "6.7B parameters" in message

    found = dict(budget.hint_estimates(est))
    lora = next(e for label, e in found.items() if label.startswith("LoRA"))
    assert lora.lora is not None and lora.trainable < est.trainable / 100
    assert budget.fits(lora, 16 * GB) and budget.check(lora, 16 * GB, "x") is None
    assert any(line.startswith("LoRA") and line.endswith(": fits") for line in budget.hints(est, 16 * GB))
    assert not any(label.startswith(("bf16", "gradient checkpointing")) for label in found)  # already set
    # every hint is recomputed and shrinks the estimate
    assert all(e.total < est.total for e in found.values())


def test_headroom_is_ten_percent(tiny_count: memory.ModelCount) -> None:
    est = memory.estimate(tiny_count)
    assert budget.check(est, int(est.total / 0.9) + 1, "here") is None
    assert budget.check(est, int(est.total / 0.9) - 10, "here") is not None
    assert budget.check(est, 0, "GPU memory cannot be checked here") is None  # unknown budget


def test_meta_device_does_not_allocate() -> None:
    start = time.perf_counter()
    model = counting.meta_model(SEVEN_B)
    assert time.perf_counter() - start < 3
    assert all(p.is_meta for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) > 6e9


def test_describe_and_available_per_worker(tiny_count: memory.ModelCount) -> None:
    text = memory.estimate(tiny_count, lora={"r": 16, "targetModules": ["q_proj"]}, workers=2).describe()
    assert "LoRA r=16" in text and "DDP x 2" in text and "per worker" in text and "fp32" in text

    assert budget.available_per_worker(12.5, 3, use_gpu=False) == (12_500_000_000, "config.resourcesPerWorker.memoryGb")
    one, _ = budget.available_per_worker(None, 1, use_gpu=False)
    two, where = budget.available_per_worker(None, 2, use_gpu=False)
    assert one > 0 and two == one // 2 and "shared by 2 workers" in where
    gpu, where = budget.available_per_worker(None, 1, use_gpu=True)
    import torch

    if torch.cuda.is_available():
        assert gpu == min(torch.cuda.get_device_properties(i).total_memory for i in range(torch.cuda.device_count()))
    else:
        assert gpu == 0 and "cannot be checked" in where
