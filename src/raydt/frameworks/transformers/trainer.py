"""raydt's per-worker loop for framework transformers: a causal language model (with LoRA adapters, or whole)
fine-tuned on this worker's shard of the tokenized text (``data.text``).

Every worker loads the model from the same local files (a hub id was fetched once, by the driver), wraps it for
``trainConfig.strategy`` (DDP, or FSDP2 sharding: ``lm.shard``), and trains with AdamW under a linear
warmup-then-decay schedule, gradient accumulation and clipping, fp32 weights with bf16/fp16 autocast. Each epoch
it reports ``train_loss`` (per learned token, over every worker), ``val_loss`` and ``val_perplexity`` (the whole
validation set, on each worker), ``tokens`` (learned tokens trained on) and ``tokens_per_second`` (input tokens,
all workers), with a checkpoint (``model``'s layout) written by rank 0; a restart resumes from the latest one
(weights, optimizer, schedule, RNG).
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from typing import Any

from raydt.frameworks.common import RESERVED_KEY
from raydt.frameworks.transformers import INFO


def _autocast(device: Any, precision: str) -> Any:
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)


def schedule(optimizer: Any, total_steps: int, warmup_ratio: float) -> Any:
    """Linear warmup over ``warmup_ratio`` of the steps, then linear decay to 0."""
    import torch

    warmup = int(total_steps * warmup_ratio)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _sums(values: list[float], device: Any) -> list[float]:
    import torch

    t = torch.tensor(values, dtype=torch.float64, device=device)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(t)
    return [float(v) for v in t.tolist()]


def _batches(shard: Any, batch_size: int, device: Any) -> Any:
    import torch

    return shard.iter_torch_batches(batch_size=batch_size, dtypes=torch.long, device=device)


def run_epoch(model: Any, shard: Any, hp: dict[str, Any], opt: Any, sched: Any) -> tuple[float, float, float]:
    """One pass over ``shard``: training when ``opt`` is given, else evaluation. (loss per learned token, learned
    tokens, input tokens), this worker's."""
    import torch

    device = next(model.parameters()).device
    training = opt is not None
    model.train(training)
    accumulate, clip = int(hp["accumulate"]), float(hp["gradClip"])
    loss_sum, learned, seen, pending = 0.0, 0.0, 0.0, 0
    with torch.set_grad_enabled(training):
        for batch in _batches(shard, int(hp["batchSize"]), device):
            with _autocast(device, str(hp["precision"])):
                out = model(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
                )
            n = float((batch["labels"][:, 1:] != -100).sum())  # the model shifts labels by one
            loss_sum += float(out.loss.detach()) * n
            learned += n
            seen += float(batch["attention_mask"].sum())
            if not training:
                continue
            (out.loss / accumulate).backward()
            pending += 1
            if pending == accumulate:
                _step(model, opt, sched, clip)
                pending = 0
    if training and pending:
        _step(model, opt, sched, clip)
    return loss_sum / max(learned, 1.0), learned, seen


def _step(model: Any, opt: Any, sched: Any, clip: float) -> None:
    import torch

    if clip > 0:
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], clip)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)


def _restore(checkpoint: Any, model: Any, opt: Any, sched: Any) -> int:
    """Trainable weights, optimizer, schedule and RNG from ``checkpoint``: the epochs already done (0: none)."""
    import random

    import numpy as np
    import torch

    from raydt.frameworks.transformers.lm import shard
    from raydt.frameworks.transformers.lm.model import STATE

    if checkpoint is None:
        return 0
    with checkpoint.as_directory() as folder:
        state = torch.load(os.path.join(folder, STATE), weights_only=False, map_location="cpu")
    shard.load(model, opt, state["weights"], state["optimizer"])
    sched.load_state_dict(state["schedule"])
    torch.set_rng_state(state["rng"]["torch"])
    np.random.set_state(state["rng"]["numpy"])
    random.setstate(state["rng"]["python"])
    return int(state["epoch"])


def _save(
    folder: str, model: Any, opt: Any, sched: Any, epoch: int, tokenizer: Any, config: dict[str, Any], rank: int
) -> Any:
    """The checkpoint of ``epoch`` (rank 0 writes it; ``None`` on the others). Every rank calls this: gathering
    the state is a collective under FSDP."""
    import random

    import numpy as np
    import ray.train
    import torch

    from raydt.frameworks.transformers.lm import shard
    from raydt.frameworks.transformers.lm.model import STATE, save

    refs = config[RESERVED_KEY]["llm"]
    weights, optim = shard.gather(model, opt)
    copy = _unsharded(model, weights, config, rank) if shard.sharded(model) else None
    if rank != 0:
        return None
    rng = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    state = {"weights": weights, "optimizer": optim, "schedule": sched.state_dict(), "rng": rng, "epoch": epoch}
    torch.save(state, os.path.join(folder, STATE))
    meta = {
        "framework": "transformers",
        "task": "generation",
        "model": __name__,
        "llm": refs,
        "text": config[RESERVED_KEY].get("data") or {},
        "config": {k: v for k, v in config.items() if k != RESERVED_KEY},
        "epoch": epoch,
    }
    last = epoch == int(INFO.hyperparameters(config)["epochs"])
    inner = copy if copy is not None else (model.module if hasattr(model, "module") else model)
    save(folder, inner, tokenizer, refs, meta, merge=bool(refs.get("mergeAdapter")) and last)
    return ray.train.Checkpoint.from_directory(folder)


def _unsharded(model: Any, weights: dict[str, Any], config: dict[str, Any], rank: int) -> Any:
    """Under FSDP, a plain CPU copy of the model for rank 0 to save with ``save_pretrained`` (``None`` on the other
    ranks): the base loaded again with the gathered trainable weights; a config-built base has random weights that
    exist nowhere else, so then the whole model is gathered (a collective: every rank calls this)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    from raydt.frameworks.transformers.lm.model import load_base, with_lora

    refs, hp = config[RESERVED_KEY]["llm"], INFO.hyperparameters(config)
    full = None
    if not refs.get("pretrained"):
        full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if rank != 0:
        return None
    copy = load_base(refs, str(hp["precision"]))
    if refs.get("lora"):
        copy = with_lora(copy, refs, hp)
    copy.load_state_dict(full if full is not None else weights, strict=full is not None)
    return copy


# A per-worker loop reads top to bottom, as Ray Train's docs write one (data, model, resume, epochs, report).
def train_loop(config: dict[str, Any]) -> None:
    """Ray Train per-worker loop of framework transformers."""
    import random

    import numpy as np
    import ray.train
    import torch

    from raydt.frameworks.common import Drain, checkpoint_every, due, initial_weights, starting_checkpoint
    from raydt.frameworks.transformers.lm import shard
    from raydt.frameworks.transformers.lm.model import STATE, load_base, load_tokenizer, with_lora

    hp = INFO.hyperparameters(config)
    refs, data = config[RESERVED_KEY]["llm"], config[RESERVED_KEY].get("data") or {}
    seed = int(hp["seed"])
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    tokenizer = load_tokenizer(refs)
    model = load_base(refs, str(hp["precision"]))
    if hp["gradientCheckpointing"]:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    if refs.get("lora"):
        model = with_lora(model, refs, hp)
    model = shard.prepare(model, str(refs.get("strategy") or "ddp"))
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=float(hp["lr"]), weight_decay=float(hp["weightDecay"]))
    context = ray.train.get_context()
    rows = int((data.get("rows") or {}).get("train") or 1)
    per_worker = math.ceil(rows / context.get_world_size())
    steps = math.ceil(math.ceil(per_worker / int(hp["batchSize"])) / int(hp["accumulate"]))
    epochs, every = int(hp["epochs"]), checkpoint_every(config)
    sched = schedule(opt, max(1, steps * epochs), float(hp["warmupRatio"]))
    done = _restore(starting_checkpoint(config), model, opt, sched)
    if done == 0 and (init := initial_weights(config)) is not None:  # warmStart.initFromBest: weights only
        with init.as_directory() as folder:
            shard.load_weights(model, torch.load(os.path.join(folder, STATE), weights_only=False)["weights"])
    train, val = ray.train.get_dataset_shard("train"), ray.train.get_dataset_shard("validation")
    device, rank = next(model.parameters()).device, context.get_world_rank()
    preempting = Drain()  # a node of the run drained for preemption: checkpoint each epoch, hold near the deadline
    for epoch in range(done, epochs):
        preempting.hold()  # an epoch that would end too close to the drain's deadline is not started
        started = time.monotonic()
        train_loss, learned, seen = run_epoch(model, train, hp, opt, sched)
        elapsed = time.monotonic() - started
        loss_sum, learned_all, seen_all = _sums([train_loss * learned, learned, seen], device)  # DDP: in step
        val_loss, _, _ = run_epoch(model, val, hp, None, None)
        report = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / max(learned_all, 1.0),
            "val_loss": val_loss,
            "val_perplexity": math.exp(min(val_loss, 50.0)),
            "tokens": int(learned_all),
            "tokens_per_second": seen_all / max(elapsed, 1e-9),
        }
        with tempfile.TemporaryDirectory() as tmp:
            drained = preempting()  # every rank, every epoch (a collective): checkpoint now while a node is drained
            save = drained or due(epoch + 1, epochs, every)  # every rank: gathering the state is a collective (FSDP)
            ckpt = _save(tmp, model, opt, sched, epoch + 1, tokenizer, config, rank) if save else None
            ray.train.report(report, checkpoint=ckpt)
