"""What the plan hands the transformers loop under the reserved key: the model's sources (local folders made
absolute once, hub ids as given), LoRA, the strategy and where a hub download goes. Plain data: no Transformers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from raydt import paths

if TYPE_CHECKING:
    from raydt.spec.model import LoraSpec, Spec

#: trainConfig.lora's values as the loop's tunable keys (trainLoopConfig / searchSpace may override them)
LORA_KEYS = {"loraR": "r", "loraAlpha": "alpha", "loraDropout": "dropout"}


def local_or_hub(value: str, base_dirs: tuple[Path, ...]) -> str:
    """A local folder or file (absolute), else the value as a Hugging Face hub id."""
    found = paths.resolve(value, base_dirs)
    return str(found) if found.exists() else value


def llm_settings(spec: Spec, base_dirs: tuple[Path, ...], storage: str) -> dict[str, Any]:
    """``{pretrained, config, tokenizer, lora, mergeAdapter, strategy, hfCache}`` for the loop and the driver."""
    from raydt.spec.model import LanguageModel

    tc = spec.train_config
    model = tc.model
    assert isinstance(model, LanguageModel)  # validated by spec.llm_checks
    config: Any = model.config
    if isinstance(config, str):
        config = str(paths.resolve(config, base_dirs))
    pretrained = local_or_hub(model.pretrained, base_dirs) if model.pretrained else None
    tokenizer = local_or_hub(model.tokenizer, base_dirs) if model.tokenizer else pretrained
    lora = None
    if tc.lora is not None:
        lora = {"targetModules": tc.lora.target_modules, "bits": tc.lora.bits}
    dc, workers = spec.data_config, spec.config.num_workers
    text = dc.text if dc is not None and dc.text is not None else None
    use_gpu = spec.config.use_gpu if tc.scaling_config.use_gpu is None else tc.scaling_config.use_gpu
    memory_gb = spec.config.resources_per_worker.memory_gb if spec.config.resources_per_worker else None
    return {
        "preflight": {  # what the memory preflight weighs (runs in the driver, before Ray starts)
            "workers": workers if isinstance(workers, int) else workers.max,
            "memoryGb": memory_gb,
            "useGpu": bool(use_gpu),
            "maxSeqLen": text.max_seq_len if text is not None else 512,
        },
        "pretrained": pretrained,
        "config": config,
        "tokenizer": tokenizer,
        "lora": lora,
        "mergeAdapter": tc.merge_adapter,
        "strategy": tc.strategy or "ddp",
        "hfCache": os.path.join(os.path.expanduser(storage), "hf-cache"),
    }


def lora_defaults(lora: LoraSpec | None) -> dict[str, Any]:
    """trainConfig.lora's rank, alpha and dropout as the loop's keys (none without LoRA)."""
    if lora is None:
        return {}
    return {key: getattr(lora, name) for key, name in LORA_KEYS.items()}
