"""framework transformers' spec rules (spec.llm_checks, the data rules it changes) and its memory preflight as the
driver runs it (lm.probe): no Ray, no weights loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from raydt.errors import InfeasibleResourcesError
from raydt.spec import load
from tests.unit.helpers import issues_by_path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (tmp_path / "train.jsonl").write_text('{"text": "a b c"}\n')
    return tmp_path


def spec(folder: Path, **train: Any) -> dict[str, Any]:
    return {
        "mode": "train",
        "config": {"numWorkers": 2},
        "trainConfig": {"framework": "transformers", "model": {"pretrained": str(folder / "base")}, **train},
        "dataConfig": {"train": {"format": "json", "paths": str(folder / "train.jsonl")}},
    }


def test_a_lora_spec_on_text_validates_and_plans_its_sources(folder: Path) -> None:
    from raydt import plan

    loaded = load(spec(folder, lora={"r": 4}, mergeAdapter=True, trainLoopConfig={"lr": 0.001, "loraR": 8}))
    p = plan.train(loaded)
    llm = p.loop_config["_raydt"]["llm"]
    assert llm["pretrained"] == str(folder / "base") and llm["tokenizer"] == llm["pretrained"]
    assert llm["lora"] == {"targetModules": "all-linear", "bits": None} and llm["mergeAdapter"] is True
    assert p.loop_config["loraR"] == 8 and p.loop_config["loraAlpha"] == 16.0  # the spec's, then trainConfig.lora's
    assert llm["preflight"]["workers"] == 2 and llm["preflight"]["maxSeqLen"] == 512


@pytest.mark.parametrize(
    ("train", "data", "path", "needle"),
    [
        ({"model": None}, None, "trainConfig.model", "must name the language model"),
        ({"model": "models.py:Net"}, None, "trainConfig.model", "must name the language model"),
        ({"model": {"pretrained": "./nowhere"}}, None, "trainConfig.model.pretrained", "neither an existing folder"),
        ({"model": {"config": {"hidden_size": 8}}}, None, "trainConfig.model.config", "needs model_type"),
        (
            {"model": {"config": {"model_type": "llama"}}},
            None,
            "trainConfig.model.tokenizer",
            "is required with config",
        ),
        ({"mergeAdapter": True}, None, "trainConfig.mergeAdapter", "needs trainConfig.lora"),
        ({"lora": {"bits": 4}}, None, "trainConfig.lora.bits", "QLoRA needs CUDA GPU workers"),
        ({"loss": "bce"}, None, "trainConfig.loss", "is not read with framework transformers"),
        ({"trainLoopConfig": {"learningRate": 0.1}}, None, "trainConfig.trainLoopConfig.learningRate", "not a key"),
        ({"trainLoopConfig": {"precision": "fp16"}}, None, "trainConfig.trainLoopConfig.precision", "fp16 needs GPU"),
        ({"trainLoopConfig": {"batchSize": 0}}, None, "trainConfig.trainLoopConfig.batchSize", "must be > 0"),
        ({}, {"format": "csv"}, "dataConfig.train.format", "must be json or parquet"),
        ({}, {"label": "y"}, "dataConfig.train.label", "is not read with framework transformers"),
    ],
)
def test_each_rule_names_its_field(folder: Path, train: dict[str, Any], data: Any, path: str, needle: str) -> None:
    given = spec(folder, **train)
    if train.get("model", "keep") is None:
        del given["trainConfig"]["model"]
    if data:
        given["dataConfig"]["train"].update(data)
    found = issues_by_path(given)
    assert path in found and needle in found[path], found


def test_a_hub_id_passes_validation_unfetched_and_text_config_is_refused_for_tables(folder: Path) -> None:
    assert load(spec(folder, model={"pretrained": "owner/some-model"})).spec.train_config.model is not None
    table = {
        "mode": "train",
        "config": {},
        "trainConfig": {"framework": "pytorch"},
        "dataConfig": {"train": {"format": "json", "paths": str(folder / "train.jsonl"), "label": "y"}, "text": {}},
    }
    assert "applies to a framework that trains on text" in issues_by_path(table)["dataConfig.text"]


def test_the_memory_preflight_refuses_an_oversized_full_fine_tune_with_its_figures() -> None:
    pytest.importorskip("transformers")
    from raydt.frameworks.transformers.lm import probe

    big = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32}
    big |= {"num_attention_heads": 32, "vocab_size": 32000}
    refs = {"lora": None, "strategy": "ddp", "preflight": {"workers": 2, "memoryGb": 16, "useGpu": False}}
    refs["preflight"]["maxSeqLen"] = 512
    hp = {"precision": "bf16", "batchSize": 1, "gradientCheckpointing": True}
    with pytest.raises(InfeasibleResourcesError) as info:
        probe.estimate_fits(refs, hp, big)
    message = info.value.message
    assert "per worker" in message and "16" in message and "LoRA" in message, message
    lora = {**refs, "lora": {"targetModules": "all-linear", "bits": None}}
    probe.estimate_fits(lora, {**hp, "loraR": 8}, big)  # the same model with LoRA fits 16 GB: no error


def test_fsdp_is_a_strategy_of_the_loop_and_the_preflight_counts_and_suggests_it(folder: Path) -> None:
    pytest.importorskip("transformers")
    from raydt import plan
    from raydt.frameworks.transformers.lm import probe

    assert plan.train(load(spec(folder, strategy="fsdp"))).loop_config["_raydt"]["llm"]["strategy"] == "fsdp"
    big = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32}
    big |= {"num_attention_heads": 32, "vocab_size": 32000}
    refs = {"lora": None, "strategy": "ddp", "preflight": {"workers": 8, "memoryGb": 40, "useGpu": False}}
    refs["preflight"]["maxSeqLen"] = 512
    hp = {"precision": "bf16", "batchSize": 1, "gradientCheckpointing": True}
    with pytest.raises(InfeasibleResourcesError) as info:  # a full 7B fine-tune, 8 DDP workers of 40 GB: no
        probe.estimate_fits(refs, hp, big)
    assert "strategy: fsdp" in info.value.message, info.value.message  # the hint the loop can now follow
    probe.estimate_fits({**refs, "strategy": "fsdp"}, hp, big)  # sharded over 8: it fits
