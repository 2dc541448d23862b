"""Each epoch's report and checkpoint of a Lightning run: Ray's ``RayTrainReportCallback``, with raydt's books.

Ray's callback reports ``trainer.callback_metrics`` and a ``checkpoint.ckpt`` (Lightning's full checkpoint: what
``ckpt_path`` resumes from) at every train epoch end. raydt's subclass keeps that and adds what its other loops
do: ``epoch`` counted from 1 (the epochs done), ``runConfig.checkpoint.frequency``, the checkpoint attached on
rank 0 only, and beside ``checkpoint.ckpt`` the files serving reads, in the PyTorch user loop's layout
(``model.pt`` with the module's weights, ``raydt_meta.json``), so ``mode: serve`` rebuilds the module from the
saved config with the PyTorch user predictor.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from raydt.frameworks.common import RESERVED_KEY, Drain, due
from raydt.frameworks.pytorch.user.checkpoint import MODEL_FILE

CHECKPOINT_NAME = "checkpoint.ckpt"  # Ray's RayTrainReportCallback.CHECKPOINT_NAME
LOOP_MODULE = "raydt.frameworks.lightning.trainer"  # raydt_meta.json's "model": what wrote the checkpoint
#: userModel.loss in raydt_meta.json: the module's training_step computes the loss (the predictor reads "bce" only)
MODULE_LOSS = "training_step"


def callback(refs: dict[str, Any], config: dict[str, Any], every: int) -> Any:
    """The report callback for this run (built here: its class needs Lightning and Ray imported)."""
    from ray.train.lightning import RayTrainReportCallback

    class RaydtReportCallback(RayTrainReportCallback):  # type: ignore[misc]
        """Reports every epoch (metrics the module logged, ``epoch``, ``step``) with a checkpoint when due."""

        def __init__(self) -> None:
            super().__init__()
            self.sample: tuple[Any, Any] | None = None  # one (input row, targets) seen in training
            self.preempting = Drain()  # a drained node: checkpoint each epoch, hold near the deadline

        def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
            self.preempting.hold()  # an epoch that would end too close to the drain's deadline is not started

        def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
            if self.sample is None:
                self.sample = first_pair(batch)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            import ray.train

            done = trainer.current_epoch + 1
            metrics = scalars(trainer.callback_metrics)
            metrics.update(epoch=done, step=int(trainer.global_step))
            drained = self.preempting()  # every rank, every epoch (a collective): checkpoint while a node is drained
            with tempfile.TemporaryDirectory() as tmp:
                ckpt = None
                if drained or due(done, int(trainer.max_epochs), every) or trainer.should_stop:
                    trainer.save_checkpoint(os.path.join(tmp, CHECKPOINT_NAME), weights_only=False)  # every rank
                    if trainer.global_rank == 0:
                        save_serving_files(tmp, pl_module, done, meta(refs, config, pl_module, self.sample))
                        ckpt = ray.train.Checkpoint.from_directory(tmp)
                ray.train.report(metrics, checkpoint=ckpt)
            trainer.strategy.barrier()

    return RaydtReportCallback()


def scalars(logged: dict[str, Any]) -> dict[str, float]:
    """The module's logged values that are one number (a tensor of one element, or a plain number)."""
    out: dict[str, float] = {}
    for key, value in logged.items():
        numel = getattr(value, "numel", None)
        if numel is not None and numel() == 1:
            out[key] = float(value.item())
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = float(value)
    return out


def first_pair(batch: Any) -> tuple[Any, Any] | None:
    """(one input row, the batch's targets) of an ``(x, y)`` batch; None for other batch shapes (dicts ...),
    whose checkpoints then carry no input shape: serve them with your own predictorPath."""
    import torch

    if isinstance(batch, tuple | list) and len(batch) == 2 and all(isinstance(t, torch.Tensor) for t in batch):
        x, y = batch
        if x.dim() >= 1 and len(x) > 0:
            return x[0].detach().cpu(), y.detach().cpu()
    return None


def meta(refs: dict[str, Any], config: dict[str, Any], module: Any, sample: tuple[Any, Any] | None) -> dict[str, Any]:
    """``raydt_meta.json``: what serving needs to rebuild and feed the module. A classifier (integer targets, a
    row of several outputs) also gets the built-in predictor's keys (``inputSize``, ``numClasses``), so
    ``mode: serve`` answers class labels without a predictorPath."""
    out: dict[str, Any] = {
        "framework": "lightning",
        "model": LOOP_MODULE,
        "userModel": {**refs, "loss": MODULE_LOSS},
        "config": {k: v for k, v in config.items() if k != RESERVED_KEY},
        "task": "regression",
    }
    if sample is None:
        return out
    x, y = sample
    width = output_width(module, x)
    out.update(inputShape=list(x.shape), inputDtype=str(x.dtype).removeprefix("torch."))
    if not y.is_floating_point() and width > 1:
        out.update(task="classification", inputSize=int(x.numel()), numClasses=width)
    return out


def output_width(module: Any, x: Any) -> int:
    """The module's output width for one row (on rank 0's plain module: no collective runs)."""
    import torch

    was_training = module.training
    module.eval()
    with torch.no_grad():
        out = module(x.unsqueeze(0).to(module.device))
    module.train(was_training)
    return int(out.shape[-1]) if isinstance(out, torch.Tensor) and out.dim() > 1 else 1


def save_serving_files(directory: str, module: Any, epoch: int, about: dict[str, Any]) -> None:
    """``model.pt`` (the module's weights, as the PyTorch user predictor loads them) and ``raydt_meta.json``."""
    import torch

    from raydt.frameworks.checkpoint_format import write_meta

    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    torch.save({"model": state, "epoch": epoch}, os.path.join(directory, MODEL_FILE))
    write_meta(directory, about)
