"""The language model of a transformers run: where its files come from (a local folder, or a hub id fetched once
into the run's hf-cache), built with LoRA adapters or whole, and the checkpoint layout it is saved in.

A checkpoint folder holds ``raydt_meta.json``, ``tokenizer/``, ``state.pt`` (optimizer, schedule, RNG, progress:
what a restart needs), and the weights: ``adapter/`` (LoRA: peft's save_pretrained, small) or ``model/`` (a full
fine-tune); ``base/`` too when the base was built from a config (its random weights exist nowhere else); and
``merged/`` (the adapter merged into a full model) in the last checkpoint with ``mergeAdapter``. Imports
Transformers, peft and torch inside functions only.
"""

from __future__ import annotations

import os
from typing import Any

ADAPTER, FULL, BASE, MERGED, TOKENIZER, STATE = "adapter", "model", "base", "merged", "tokenizer", "state.pt"


def fetch(source: str, cache: str, local_only: bool = True) -> str:
    """A local folder as given; a hub id from ``cache`` (downloaded there when ``local_only`` is false: the driver
    does that once, before any worker starts)."""
    if os.path.isdir(source):
        return source
    from huggingface_hub import snapshot_download

    return str(snapshot_download(source, cache_dir=cache, local_files_only=local_only))


def load_tokenizer(refs: dict[str, Any], folder: str | None = None) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder or fetch(refs["tokenizer"], refs["hfCache"]))
    if tokenizer.pad_token is None:  # padding needs one; the end-of-sequence token is the usual stand-in
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base(refs: dict[str, Any], precision: str = "fp32") -> Any:
    """The base model: from its pretrained folder (or hub id), or built from its config with random weights. Under
    LoRA with bf16/fp16 the frozen base is held in that precision (the adapters stay fp32: peft's default), as the
    memory preflight counts it; a full fine-tune keeps fp32 weights and autocasts."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision) if refs.get("lora") else None
    if refs.get("pretrained"):
        folder = fetch(refs["pretrained"], refs["hfCache"])
        return AutoModelForCausalLM.from_pretrained(folder, **({"dtype": half} if half else {}))
    given = refs["config"]
    if isinstance(given, str):
        config = AutoConfig.from_pretrained(os.path.dirname(given)) if given.endswith("config.json") else None
        config = config or AutoConfig.from_pretrained(given)
    else:
        settings = dict(given)
        config = AutoConfig.for_model(settings.pop("model_type"), **settings)
    model = AutoModelForCausalLM.from_config(config)
    return model.to(half) if half else model


def with_lora(model: Any, refs: dict[str, Any], hp: dict[str, Any]) -> Any:
    """The model with LoRA adapters (peft): only the adapters train."""
    from peft import LoraConfig, get_peft_model

    lora = refs["lora"]
    config = LoraConfig(
        r=int(hp["loraR"]),
        lora_alpha=float(hp["loraAlpha"]),
        lora_dropout=float(hp["loraDropout"]),
        target_modules=lora["targetModules"],
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def save(directory: str, model: Any, tokenizer: Any, refs: dict[str, Any], meta: dict[str, Any], merge: bool) -> None:
    """The checkpoint's weights and tokenizer (``model``: the plain model, unwrapped from DDP)."""
    from raydt.frameworks.checkpoint_format import write_meta

    tokenizer.save_pretrained(os.path.join(directory, TOKENIZER))
    if refs.get("lora"):
        model.save_pretrained(os.path.join(directory, ADAPTER))
        if not refs.get("pretrained"):  # a config-built base: its random weights are saved with the adapter
            model.get_base_model().save_pretrained(os.path.join(directory, BASE))
        if merge:
            merged = model.merge_and_unload()  # the last checkpoint: training is over, the adapter folds in
            merged.save_pretrained(os.path.join(directory, MERGED))
    else:
        model.save_pretrained(os.path.join(directory, FULL))
    write_meta(directory, meta)


def load_for_generation(checkpoint_dir: str, meta: dict[str, Any]) -> tuple[Any, Any]:
    """(model, tokenizer) of a checkpoint, ready to generate: the merged model, the full one, or the base with its
    adapter loaded on top."""
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer({}, os.path.join(checkpoint_dir, TOKENIZER))
    for folder in (MERGED, FULL):
        path = os.path.join(checkpoint_dir, folder)
        if os.path.isdir(path):
            return AutoModelForCausalLM.from_pretrained(path).eval(), tokenizer
    from peft import PeftModel

    refs = meta["llm"]
    base_dir = os.path.join(checkpoint_dir, BASE)
    base = AutoModelForCausalLM.from_pretrained(base_dir) if os.path.isdir(base_dir) else load_base(refs)
    model = PeftModel.from_pretrained(base, os.path.join(checkpoint_dir, ADAPTER))
    return model.eval(), tokenizer
