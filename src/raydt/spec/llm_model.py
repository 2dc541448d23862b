"""``framework: transformers``: the language model to fine-tune (``trainConfig.model``), LoRA (``trainConfig.lora``)
and the text data (``dataConfig.text``). Kept apart from ``spec.model``, which re-exports it; its cross-field rules
are ``spec.llm_checks``. Never imports Ray or Transformers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from raydt.spec.strict import StrictModel


class LanguageModel(StrictModel):
    """``trainConfig.model`` for framework transformers: a pretrained causal LM, or one built from its config."""

    pretrained: str | None = Field(
        None,
        min_length=1,
        description="A local folder (save_pretrained's) or a Hugging Face hub id (downloaded once, in the driver, "
        "to runConfig.storagePath's hf-cache: every worker reads it from there).",
    )
    config: str | dict[str, Any] | None = Field(
        None,
        description="Build the model from a config instead (random weights: tests and from-scratch runs): a "
        "config.json path or the config itself ({model_type: llama, hidden_size: 64, ...}).",
    )
    tokenizer: str | None = Field(
        None, min_length=1, description="A folder or hub id. Default: the pretrained model's own tokenizer."
    )


class LoraSpec(StrictModel):
    """``trainConfig.lora``: train low-rank adapters (peft) instead of every weight."""

    r: int = Field(8, ge=1, le=4096, description="The adapters' rank (tunable as trainLoopConfig.loraR).")
    alpha: float = Field(16.0, gt=0, le=1e6, description="LoRA's scaling alpha (trainLoopConfig.loraAlpha).")
    dropout: float = Field(
        0.05, ge=0, lt=1, description="Dropout on the adapters' input (trainLoopConfig.loraDropout)."
    )
    target_modules: (
        Literal["all-linear"] | Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    ) = Field("all-linear", description="Module names to adapt (e.g. [q_proj, v_proj]), or all-linear.")
    bits: Literal[4, 8] | None = Field(
        None, description="QLoRA: the base model quantized to 4 (or 8) bits with bitsandbytes: CUDA GPUs only."
    )


class TextData(StrictModel):
    """``dataConfig.text``: how text rows become training sequences (tokenized once, in Ray Data)."""

    shape: Literal["auto", "text", "instruction", "messages"] = Field(
        "auto",
        description="text: {text} (every token learned); instruction: {instruction, input?, output} (the prompt "
        "masked from the loss); messages: {messages: [{role, content}]} (the tokenizer's chat template, only the "
        "assistant turns learned); auto: from the columns.",
    )
    max_seq_len: int = Field(512, ge=8, le=1_048_576, description="Tokens per sequence (longer rows are truncated).")
    packing: bool = Field(False, description="Concatenate rows into full maxSeqLen sequences (no padding).")
