"""framework transformers' checks in the driver, before Ray starts (``FrameworkInfo.probe``): a hub id is fetched
once into the run's hf-cache (the workers read it there, never download it), QLoRA finds CUDA and bitsandbytes, and
the memory preflight weighs the fine-tune against the workers' memory (``memory``: counted on the meta device, no
weight loaded) and refuses one that cannot fit, with its figures and what would fit."""

from __future__ import annotations

import os
from typing import Any

from raydt.errors import InfeasibleResourcesError, SpecError, SpecIssue
from raydt.frameworks.common import RESERVED_KEY
from raydt.frameworks.transformers import INFO

MODEL = "trainConfig.model"


def check(loop_config: dict[str, Any], search_space: Any = None) -> None:
    refs = loop_config[RESERVED_KEY]["llm"]
    sources = _fetch(refs)
    if refs.get("lora") and refs["lora"].get("bits"):
        _qlora()
    estimate_fits(refs, _largest(loop_config, search_space), sources.get("pretrained") or refs["config"])


def _fetch(refs: dict[str, Any]) -> dict[str, str]:
    """Each hub id downloaded into the run's hf-cache (a local folder as it is)."""
    from raydt.frameworks.transformers.lm.model import fetch

    found: dict[str, str] = {}
    for key in ("pretrained", "tokenizer"):
        source = refs.get(key)
        if not source:
            continue
        try:
            found[key] = fetch(source, refs["hfCache"], local_only=os.path.isdir(source))
        except Exception as exc:  # noqa: BLE001 - the hub or the network refused: said at the field
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            hint = "A hub id needs the hub to be reachable from this machine (or give a local folder)."
            raise SpecError([SpecIssue(f"{MODEL}.{key}", f"could not be fetched: {first}", source, hint)]) from None
    return found


def _qlora() -> None:
    import torch

    problem = None
    if not torch.cuda.is_available():
        problem = "QLoRA needs CUDA, and this machine's torch sees no CUDA device"
    else:
        try:
            __import__("bitsandbytes")
        except ImportError:
            problem = "QLoRA needs bitsandbytes: pip install bitsandbytes"
    if problem:
        raise SpecError([SpecIssue("trainConfig.lora.bits", problem, None, "Drop lora.bits to train plain LoRA.")])


def _largest(loop_config: dict[str, Any], search_space: Any) -> dict[str, Any]:
    """The loop's settings with each searched size at its largest value (what the biggest trial needs);
    ``search_space``: a tune run's parsed space (``raydt.space.Group``), or None."""
    from raydt import space

    hp = INFO.hyperparameters(loop_config)
    members = search_space.members if isinstance(search_space, space.Group) else {}
    for key in ("batchSize", "loraR"):
        node = members.get(key)
        if isinstance(node, space.Categorical) and all(isinstance(v, int) for v in node.values):
            hp[key] = max(node.values)
        elif isinstance(node, space.IntRange | space.FloatRange):
            hp[key] = int(node.max)
        elif isinstance(node, space.Constant):
            hp[key] = node.value
    return hp


def estimate_fits(refs: dict[str, Any], hp: dict[str, Any], source: Any) -> None:
    """Raise ``InfeasibleResourcesError`` when the fine-tune cannot fit a worker's memory."""
    from raydt.frameworks.transformers.lm import budget, memory

    pre = refs["preflight"]
    lora = (
        {"r": int(hp.get("loraR") or 8), "targetModules": refs["lora"]["targetModules"]} if refs.get("lora") else None
    )
    estimate = memory.estimate(
        source,
        precision=str(hp["precision"]),  # type: ignore[arg-type]
        lora=lora,
        strategy=refs.get("strategy") or "ddp",
        workers=int(pre["workers"]),
        batch_size=int(hp["batchSize"]),
        max_seq_len=int(pre["maxSeqLen"]),
        gradient_checkpointing=bool(hp["gradientCheckpointing"]),
    )
    available, where = budget.available_per_worker(pre.get("memoryGb"), int(pre["workers"]), bool(pre["useGpu"]))
    problem = budget.check(estimate, available, where)
    if problem:
        raise InfeasibleResourcesError(
            problem,
            hint="Each line after 'Try:' is an estimate with that change; config.resourcesPerWorker.memoryGb sets "
            "the budget per worker (default: this machine's memory shared by the workers).",
        )
