"""framework transformers' own rules (``FrameworkInfo.spec_checks``): the language model's sources, LoRA, the text
data, and the loop's keys. Never imports Ray or Transformers (a hub id is judged by its form, never fetched)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from raydt import paths
from raydt.errors import SpecIssue
from raydt.spec.model import LanguageModel, Spec
from raydt.spec.waiting import Waiting
from raydt.suggest import closest

MODEL = "trainConfig.model"
LOOP = "trainConfig.trainLoopConfig"
SPACE = "tuneConfig.searchSpace"
PRECISIONS = ("fp32", "bf16", "fp16")
#: the loop's keys and their types (trainConfig.lora's rank, alpha and dropout are tunable as loraR/Alpha/Dropout)
KEYS: dict[str, type | tuple[type, ...]] = {
    "lr": (int, float),
    "batchSize": int,
    "epochs": int,
    "warmupRatio": (int, float),
    "weightDecay": (int, float),
    "accumulate": int,
    "gradClip": (int, float),
    "precision": str,
    "gradientCheckpointing": bool,
    "seed": int,
    "loraR": int,
    "loraAlpha": (int, float),
    "loraDropout": (int, float),
}
POSITIVE = ("lr", "batchSize", "epochs", "accumulate", "loraR", "loraAlpha")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_NOT_READ = "is not read with framework transformers"


def check(spec: Spec, base_dirs: tuple[Path, ...], wait: Waiting) -> list[SpecIssue]:
    """Every problem of a transformers trainConfig (with no trainerPath) and of its text data."""
    tc = spec.train_config
    if not isinstance(tc.model, LanguageModel):
        hint = "trainConfig.model: {pretrained: <a folder or hub id>} or {config: {...}, tokenizer: <folder>}."
        given = tc.model if tc.model is not None else None
        rule = "must name the language model to fine-tune ({pretrained} or {config, tokenizer})"
        return [SpecIssue(MODEL, rule, given, hint)]
    issues = _model(tc.model, base_dirs)
    for path, value in (
        ("trainConfig.data", tc.data),
        ("trainConfig.loss", tc.loss),
        ("trainConfig.metrics", tc.metrics or None),
        ("trainConfig.preprocess", tc.preprocess),
        ("trainConfig.postprocess", tc.postprocess),
    ):
        if value:
            issues.append(SpecIssue(path, _NOT_READ, value, "Leave it out: the loop trains on dataConfig's text."))
    issues += _lora(spec)
    issues += _data(spec, wait)
    use_gpu = bool(spec.config.use_gpu if tc.scaling_config.use_gpu is None else tc.scaling_config.use_gpu)
    for key, value in tc.train_loop_config.items():
        issues += check_key(f"{LOOP}.{key}", key, value, use_gpu)
    space = spec.tune_config.search_space if spec.mode == "tune" and spec.tune_config is not None else {}
    for key, node in space.items():
        if not isinstance(node, dict):
            issues += check_key(f"{SPACE}.{key}", key, node, use_gpu)
        elif key not in KEYS:
            issues += check_key(f"{SPACE}.{key}", key, None, use_gpu)
    return issues


def _model(model: LanguageModel, base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    if (model.pretrained is None) == (model.config is None):
        hint = "pretrained: a save_pretrained folder or a hub id; config: build one with random weights."
        issues.append(SpecIssue(MODEL, "needs exactly one of pretrained and config", None, hint))
    if model.pretrained is not None:
        issues += _source(f"{MODEL}.pretrained", model.pretrained, base_dirs, "config.json")
    if isinstance(model.config, str) and not paths.resolve(model.config, base_dirs).is_file():
        issues.append(SpecIssue(f"{MODEL}.config", "must be an existing config.json file", model.config, ""))
    if isinstance(model.config, dict) and "model_type" not in model.config:
        hint = "e.g. {model_type: llama, hidden_size: 64, num_hidden_layers: 2, ...}."
        issues.append(SpecIssue(f"{MODEL}.config", "needs model_type (the architecture)", sorted(model.config), hint))
    if model.config is not None and model.tokenizer is None:
        hint = "Name a tokenizer folder (save_pretrained's) or hub id."
        issues.append(SpecIssue(f"{MODEL}.tokenizer", "is required with config (a new model has none)", None, hint))
    if model.tokenizer is not None:
        issues += _source(f"{MODEL}.tokenizer", model.tokenizer, base_dirs, None)
    return issues


def _source(path: str, value: str, base_dirs: tuple[Path, ...], needs: str | None) -> list[SpecIssue]:
    """A local folder (with ``needs`` in it), or a hub id (owner/name)."""
    found = paths.resolve(value, base_dirs)
    if found.exists():
        if not found.is_dir():
            return [SpecIssue(path, "must be a folder (save_pretrained's) or a hub id", value, "")]
        if needs and not (found / needs).is_file():
            return [SpecIssue(path, f"has no {needs}: not a save_pretrained folder", value, "")]
        return []
    if value.startswith((".", "/", "~")) or not HUB_ID.match(value):
        hint = "A folder that exists, or a Hugging Face hub id such as 'owner/model'."
        return [SpecIssue(path, "is neither an existing folder nor a hub id", value, hint)]
    return []


def _lora(spec: Spec) -> list[SpecIssue]:
    tc = spec.train_config
    issues: list[SpecIssue] = []
    if tc.merge_adapter and tc.lora is None:
        hint = "Add trainConfig.lora, or drop mergeAdapter (a full fine-tune saves the whole model)."
        issues.append(SpecIssue("trainConfig.mergeAdapter", "needs trainConfig.lora", True, hint))
    use_gpu = spec.config.use_gpu if tc.scaling_config.use_gpu is None else tc.scaling_config.use_gpu
    if tc.lora is not None and tc.lora.bits is not None and not use_gpu:
        hint = "QLoRA quantizes with bitsandbytes on CUDA: set config.useGpu: true on GPU nodes, or drop lora.bits."
        issues.append(SpecIssue("trainConfig.lora.bits", "QLoRA needs CUDA GPU workers", tc.lora.bits, hint))
    return issues


def _data(spec: Spec, wait: Waiting) -> list[SpecIssue]:
    dc = spec.data_config
    if dc is None:
        if wait.waits("dataConfig", "dataConfig"):
            return []
        hint = "dataConfig: {train: {format: json, paths: train.jsonl}, text: {maxSeqLen: 512}}."
        return [SpecIssue("dataConfig", "is required with framework transformers (the text to train on)", None, hint)]
    issues: list[SpecIssue] = []
    for where, source in (("dataConfig.train", dc.train), ("dataConfig.validation", dc.validation)):
        if source is None:
            continue
        if source.format not in ("json", "parquet"):
            hint = "Text rows come as JSON lines (format: json) or Parquet."
            issues.append(SpecIssue(f"{where}.format", "must be json or parquet for text", source.format, hint))
        for key, value in (("label", source.label), ("features", source.features)):
            if value is not None:
                hint = "Leave it out: dataConfig.text.shape names the columns read."
                issues.append(SpecIssue(f"{where}.{key}", _NOT_READ, value, hint))
    if dc.preprocess:
        hint = "Leave it out: text rows are tokenized (dataConfig.text)."
        issues.append(SpecIssue("dataConfig.preprocess", _NOT_READ, len(dc.preprocess), hint))
    return issues


def check_key(path: str, key: str, value: Any, use_gpu: bool) -> list[SpecIssue]:
    """One of the loop's keys, by type and range (``value`` None: only the name is judged)."""
    if key not in KEYS:
        return [SpecIssue(path, "is not a key of raydt's transformers loop", key, closest(key, list(KEYS)))]
    if value is None:
        return []
    want = KEYS[key]
    if (isinstance(value, bool) and want is not bool) or not isinstance(value, want):
        name = {int: "an integer", str: "a string", bool: "true or false"}.get(want, "a number")  # type: ignore[arg-type]
        return [SpecIssue(path, f"must be {name}", value, "")]
    if key == "precision" and value not in PRECISIONS:
        return [SpecIssue(path, "is not a known precision", value, closest(str(value), PRECISIONS))]
    if key == "precision" and value == "fp16" and not use_gpu:
        return [SpecIssue(path, "fp16 needs GPU workers", value, "On CPU use bf16 (or fp32).")]
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0 or (key in POSITIVE and value == 0):
            return [SpecIssue(path, f"must be {'> 0' if key in POSITIVE else '>= 0'}", value, "")]
        if key == "loraDropout" and value >= 1:
            return [SpecIssue(path, "must be < 1", value, "")]
        if key == "warmupRatio" and value > 1:
            return [SpecIssue(path, "must be <= 1 (a fraction of the optimizer steps)", value, "")]
    return []
