"""raydt's per-worker loop for a user's own PyTorch model (``trainConfig.model`` + ``trainConfig.data`` or
``dataConfig``).

The user writes no Ray code: this loop does what a hand-written Ray Train loop does. Every worker builds the
model and its loaders (``feed``: the user's Datasets under a DistributedSampler, or its Ray Data shard), wraps
the model for ``trainConfig.strategy`` (``strategy``: DDP through ``prepare_model``, or FSDP2), trains with the
loss and optimizer the spec names, reduces the metrics across workers, and reports ``epoch``, ``train_loss``,
``val_loss`` (plus ``val_accuracy`` for classification losses and the user's metric functions) every epoch with
a checkpoint written by rank 0. After a worker failure (or with ``resumeFromCheckpoint``) it resumes from the
latest checkpoint: no epoch is trained twice.

Optimizer, LR schedule and scaler: ``optim``; what a checkpoint holds: ``checkpoint``; serving it: ``predictor``.
With ``patience`` the run ends after that many epochs without a better metric (the run's metric, reduced the
same on every worker, so every worker stops at the same epoch).
"""

from __future__ import annotations

import contextlib
import tempfile
from typing import Any

from raydt.frameworks.common import RESERVED_KEY
from raydt.frameworks.pytorch import USER_PARAMS
from raydt.frameworks.pytorch.user.optim import Optimizing


def params(config: dict[str, Any]) -> dict[str, Any]:
    """The loop's own keys: USER_PARAMS' defaults overlaid with the config (a trial's aliases folded in)."""
    from raydt.frameworks.pytorch.user.code import ALIASES

    given = {ALIASES.get(k, k): v for k, v in config.items()}
    return {k: given.get(k, default) for k, default in USER_PARAMS.items()}


def _autocast(device: Any, precision: str) -> Any:
    import torch

    if precision == "fp16" and device.type != "cuda":
        raise ValueError("precision fp16 needs GPU workers (autocast on CPU supports bf16 only)")
    if precision == "fp32":  # no autocast context at all: a disabled one still costs a few µs a step
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def _step_loss(model: Any, xb: Any, yb: Any, loss_fn: Any, loss_name: str) -> tuple[Any, Any]:
    """Outputs and loss of one batch; a loss that does not fit the outputs says so with both shapes."""
    from raydt.frameworks.pytorch.user.code import align

    outputs = model(xb)
    try:
        return outputs, loss_fn(outputs.float(), align(outputs.float(), yb, loss_name))
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ValueError(
            f"trainConfig.loss '{loss_name}' does not fit the model's output: outputs {tuple(outputs.shape)} "
            f"{outputs.dtype}, targets {tuple(yb.shape)} {yb.dtype} ({str(exc).splitlines()[0]})"
        ) from exc


def _reduce(values: list[float], device: Any) -> list[float]:
    """Sums across workers (all_reduce); one worker: as given."""
    import torch

    t = torch.tensor(values, dtype=torch.float64, device=device)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(t)
    return [float(v) for v in t.tolist()]


def train_epoch(model: Any, loader: Any, opt: Optimizing, loss_fn: Any, hp: dict[str, Any]) -> tuple[float, Any]:
    """One epoch over this worker's part of train (gradients of ``accumulate`` batches per optimizer step): the
    mean loss over every worker's rows, and one input row (its shape and dtype are what serving expects)."""

    device = next(model.parameters()).device
    loss_name, clip, accumulate = str(hp["_loss"]), float(hp["gradClip"]), int(hp["accumulate"])
    model.train()
    total, count, row, pending = 0.0, 0, None, 0
    opt.optimizer.zero_grad(set_to_none=True)
    for xb, yb in loader:
        row = xb[0].detach().cpu() if row is None else row
        with _autocast(device, str(hp["precision"])):
            _, loss = _step_loss(model, xb, yb, loss_fn, loss_name)
        opt.scaler.scale(loss if accumulate == 1 else loss / accumulate).backward()  # no extra autograd node
        pending += 1
        if pending == accumulate:
            _step(model, opt, clip)
            pending = 0
        total += float(loss.detach()) * len(yb)
        count += len(yb)
    if pending:
        _step(model, opt, clip)
    total, count_all = _reduce([total, float(count)], device)
    return total / max(count_all, 1.0), row


def _step(model: Any, opt: Optimizing, clip: float) -> None:
    """One optimizer step: clip, step, scale update, schedule, fresh gradients."""
    import torch

    if clip > 0:
        opt.scaler.unscale_(opt.optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.scaler.step(opt.optimizer)
    opt.scaler.update()
    if opt.scheduler is not None:
        opt.scheduler.step()
    opt.optimizer.zero_grad(set_to_none=True)


def evaluate(
    model: Any, loader: Any, loss_fn: Any, hp: dict[str, Any], classification: bool, metrics: list[Any]
) -> dict[str, float]:
    """val_loss (and val_accuracy, and the user's metrics on the whole validation set) across every worker."""
    import torch

    from raydt.frameworks.pytorch.user.code import align, correct

    device = next(model.parameters()).device
    loss_name = str(hp["_loss"])
    model.eval()
    total, hits, seen, rows = 0.0, 0.0, 0.0, 0.0
    kept: list[tuple[Any, Any]] = []
    with torch.no_grad(), _autocast(device, str(hp["precision"])):
        for xb, yb in loader:
            outputs, loss = _step_loss(model, xb, yb, loss_fn, loss_name)
            total += float(loss) * len(yb)
            rows += len(yb)
            if classification:
                h, n = correct(outputs.float(), align(outputs.float(), yb, loss_name), loss_name)
                hits, seen = hits + float(h), seen + n
            if metrics:
                kept.append((outputs.float().cpu(), yb.cpu()))
    total, hits, seen, rows = _reduce([total, hits, seen, rows], device)
    out = {"val_loss": total / max(rows, 1.0)}
    if classification:
        out["val_accuracy"] = hits / max(seen, 1.0)
    if metrics:
        out.update(_user_metrics(kept, metrics))
    return out


def _user_metrics(kept: list[tuple[Any, Any]], metrics: list[Any]) -> dict[str, float]:
    """The user's metric functions on the validation outputs of every worker, gathered."""
    import torch

    parts = [kept]
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        parts = [None] * torch.distributed.get_world_size()  # type: ignore[list-item]
        torch.distributed.all_gather_object(parts, kept)
    pairs = [pair for part in parts for pair in part]
    outputs, targets = torch.cat([o for o, _ in pairs]), torch.cat([t for _, t in pairs])
    values: dict[str, float] = {}
    for fn in metrics:
        try:
            values[fn.__name__] = float(fn(outputs, targets))
        except Exception as exc:
            raise ValueError(f"metric function {fn.__name__} raised {type(exc).__name__}: {exc}") from exc
    return values


def steps_per_epoch(loader: Any, accumulate: int) -> int:
    """Optimizer steps in one epoch of this worker's loader (the LR schedule's unit)."""
    return max(1, -(-len(loader) // accumulate))


class EarlyStop:
    """``patience`` epochs without a better ``metric`` end the run (0: never)."""

    def __init__(self, patience: int, metric: str, mode: str, saved: dict[str, Any]) -> None:
        self.patience, self.metric, self.sign = patience, metric, (1.0 if mode == "min" else -1.0)
        self.best: float | None = saved.get("best")
        self.stale = int(saved.get("stale", 0))

    def update(self, report: dict[str, Any]) -> bool:
        """Record an epoch's report; True when the run should stop."""
        value = report.get(self.metric)
        if not isinstance(value, float | int):
            return False
        if self.best is None or self.sign * value < self.sign * self.best:
            self.best, self.stale = float(value), 0
        else:
            self.stale += 1
        return 0 < self.patience <= self.stale


# A per-worker loop reads top to bottom, as Ray Train's docs write one (data, model, resume, epochs, report).
def train_loop(config: dict[str, Any]) -> None:
    """Ray Train per-worker loop for ``trainConfig.model`` (called by the pytorch framework's ``train_loop``)."""
    import random

    import numpy as np
    import ray.train
    import ray.train.torch
    import torch

    from raydt.frameworks.common import Drain, checkpoint_every, due, initial_weights, starting_checkpoint
    from raydt.frameworks.data import save_preprocessing
    from raydt.frameworks.pytorch.user import checkpoint, feed, optim, strategy
    from raydt.frameworks.pytorch.user import code as user_code

    refs: dict[str, Any] = config[RESERVED_KEY]["userModel"]
    hp = {**params(config), "_loss": refs["loss"]}
    seed = int(hp["seed"])
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    train_loader, val_loader = feed.loaders(refs, config, int(hp["batchSize"]))  # Datasets, or dataConfig's shards
    model = user_code.build_model(refs["model"], config)
    loss_fn, classification = user_code.make_loss(refs["loss"])
    metrics = [user_code.load(ref) for ref in refs.get("metrics") or []]
    device = ray.train.torch.get_device()
    model = strategy.prepare(model, str(refs.get("strategy") or "ddp"))  # FSDP's parameters are new: then opt
    opt = optim.build(hp, model.parameters(), steps_per_epoch(train_loader, int(hp["accumulate"])), device.type)
    progress = checkpoint.resume(starting_checkpoint(config), model, opt)
    if int(progress["epoch"]) == 0 and (init := initial_weights(config)) is not None:  # warmStart.initFromBest
        checkpoint.load_weights(init, model)
    stop = EarlyStop(int(hp["patience"]), refs.get("metric", "val_loss"), refs.get("mode", "min"), progress)
    epochs, every = int(hp["epochs"]), checkpoint_every(config)
    context = ray.train.get_context()
    sample, width = None, 0  # one input row (its shape and dtype are what serving expects), the output width
    preempting = Drain()  # a node of the run drained for preemption: checkpoint each epoch, hold near the deadline
    for epoch in range(int(progress["epoch"]), epochs):
        preempting.hold()  # an epoch that would end too close to the drain's deadline is not started
        sampler: Any = getattr(train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        train_loss, row = train_epoch(model, train_loader, opt, loss_fn, hp)
        report = {"epoch": epoch + 1, "train_loss": train_loss}
        report.update(evaluate(model, val_loader, loss_fn, hp, classification, metrics))
        ended = stop.update(report)
        drained = preempting()  # every rank, every epoch (a collective): checkpoint now while a node is drained
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = None
            if ended or drained or due(epoch + 1, epochs, every):  # every rank: FSDP's forward, gather: collectives
                sample, width = (row, checkpoint.output_width(model, row)) if sample is None else (sample, width)
                states = strategy.states(model, opt)
                if context.get_world_rank() == 0:
                    state = {"epoch": epoch + 1, "best": stop.best, "stale": stop.stale}
                    about = checkpoint.meta(refs, config, sample, width, classification)
                    save_preprocessing(config, tmp)  # dataConfig: its fitted pipeline, for serving raw rows
                    ckpt = checkpoint.save(tmp, states, state, about)
            ray.train.report(report, checkpoint=ckpt)
        if ended:
            return
