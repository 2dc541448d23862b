"""The memory preflight's verdict: whether an :class:`~raydt.frameworks.transformers.lm.memory.Estimate` fits a
worker's budget (:data:`~raydt.frameworks.transformers.lm.memory.HEADROOM`: 90 %), what would fit instead (each hint
recomputed), and where a worker's budget comes from. Imports torch only to read a CUDA device's memory."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from raydt.frameworks.transformers.lm.memory import DEFAULT_LORA_R, DEFAULT_TARGET_MODULES, HEADROOM, Estimate, gb_text


def fits(est: Estimate, available_bytes: int) -> bool:
    """The total within :data:`HEADROOM` (90%) of ``available_bytes``; an unknown budget (<= 0) always fits."""
    return available_bytes <= 0 or est.total <= available_bytes * HEADROOM


def hint_estimates(est: Estimate, fsdp: bool = True) -> list[tuple[str, Estimate]]:
    """Each change that would shrink ``est`` (what to set in the spec) with the estimate it gives, in this order:
    LoRA, bf16, FSDP, gradient checkpointing, more FSDP workers, a smaller maxSeqLen, a smaller batch, and all the
    spec-level changes (LoRA, bf16, checkpointing, FSDP) together when more than one applies."""
    out: list[tuple[str, Estimate]] = []
    combined: dict[str, Any] = {}
    combined_names: list[str] = []
    if est.lora is None:
        lora = {"r": DEFAULT_LORA_R, "targetModules": DEFAULT_TARGET_MODULES}
        out.append(
            (f"LoRA (lora: {{r: {DEFAULT_LORA_R}, targetModules: {DEFAULT_TARGET_MODULES}}})", est.replace(lora=lora))
        )
        combined["lora"] = lora
        combined_names.append("LoRA")
    if est.precision == "fp32":
        out.append(("bf16 compute (precision: bf16)", est.replace(precision="bf16")))
        combined["precision"] = "bf16"
        combined_names.append("bf16")
    if fsdp and est.strategy == "ddp" and est.workers > 1:
        out.append((f"FSDP, sharding over the {est.workers} workers (strategy: fsdp)", est.replace(strategy="fsdp")))
        combined["strategy"] = "fsdp"
        combined_names.append("FSDP")
    if not est.gradient_checkpointing:
        out.append(("gradient checkpointing (gradientCheckpointing: true)", est.replace(gradient_checkpointing=True)))
        combined["gradient_checkpointing"] = True
        combined_names.append("gradient checkpointing")
    more = max(2, est.workers * 2)
    if fsdp:
        label = f"more workers under FSDP (numWorkers: {more}, strategy: fsdp)"
        out.append((label, est.replace(strategy="fsdp", workers=more)))
    if est.max_seq_len > 1:
        half = est.max_seq_len // 2
        out.append((f"a smaller maxSeqLen (maxSeqLen: {half})", est.replace(max_seq_len=half)))
    if est.batch_size > 1:
        half = est.batch_size // 2
        out.append((f"a smaller batch (batchSize: {half})", est.replace(batch_size=half)))
    if len(combined) > 1:
        together = est.replace(**combined)
        out.append((" + ".join(combined_names) + " together", together))
    return out


def hints(est: Estimate, available_bytes: int | None = None, fsdp: bool = True) -> list[str]:
    """:func:`hint_estimates` as lines, each with its estimated total (and, given ``available_bytes``, whether it
    fits)."""
    lines = []
    for label, changed in hint_estimates(est, fsdp):
        verdict = ""
        if available_bytes is not None and available_bytes > 0:
            verdict = ": fits" if fits(changed, available_bytes) else ": still too much"
        lines.append(f"{label}: {gb_text(changed.total)} per worker{verdict}")
    return lines


def check(est: Estimate, available_bytes: int, where: str, fsdp: bool = True) -> str | None:
    """None when ``est`` fits in 90% of ``available_bytes`` (or that budget is unknown, <= 0); else why not, with the
    figures, the memory available and the hints (those that would fit first)."""
    if fits(est, available_bytes):
        return None
    lines = hints(est, available_bytes, fsdp)
    lines.sort(key=lambda line: not line.endswith(": fits"))
    return (
        f"the fine-tune needs an estimated {gb_text(est.total)} per worker but {where} has {gb_text(available_bytes)} "
        f"({gb_text(available_bytes * HEADROOM)} usable with {100 - int(HEADROOM * 100)}% headroom): {est.describe()}. "
        "Try: " + "; ".join(lines)
    )


def _host_memory() -> tuple[int, str]:
    try:
        psutil = importlib.import_module("psutil")
        return int(psutil.virtual_memory().total), "this machine's RAM"
    except ImportError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024, "this machine's RAM (/proc/meminfo)"
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "this machine's RAM"
    except (ValueError, OSError, AttributeError):
        return 0, "this machine's RAM (unknown)"


def available_per_worker(memory_gb_per_worker: float | None, workers: int, use_gpu: bool) -> tuple[int, str]:
    """The memory one worker has for the model, and where that figure comes from.

    With ``use_gpu``: the smallest CUDA device's memory on this machine (one GPU per worker), or ``0`` with a phrase
    saying GPU memory cannot be checked here when torch sees no CUDA (:func:`check` then passes). Otherwise
    ``resourcesPerWorker.memoryGb`` (x 1e9) when given, else this machine's total RAM shared by the ``workers``.
    """
    if use_gpu:
        try:
            import torch

            if torch.cuda.is_available() and torch.cuda.device_count() > 0:
                sizes = [torch.cuda.get_device_properties(i).total_memory for i in range(torch.cuda.device_count())]
                name = torch.cuda.get_device_name(sizes.index(min(sizes)))
                return int(min(sizes)), f"the GPU memory of one {name} on this machine"
        except ImportError:
            pass
        return 0, "GPU memory cannot be checked here (torch sees no CUDA device on this machine)"
    if memory_gb_per_worker:
        return int(memory_gb_per_worker * 1e9), "config.resourcesPerWorker.memoryGb"
    total, source = _host_memory()
    workers = max(1, workers)
    if workers == 1:
        return total, source
    return total // workers, f"{source} shared by {workers} workers"
