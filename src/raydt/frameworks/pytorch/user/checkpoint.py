"""Checkpoints of raydt's loop for a user model: what a restart needs in ``model.pt`` (model, optimizer, LR
schedule, AMP scaler, epoch, RNG state, early stopping's best), what serving needs in ``raydt_meta.json``."""

from __future__ import annotations

import os
from typing import Any

from raydt.frameworks.checkpoint_format import PIPELINE_FILE
from raydt.frameworks.common import RESERVED_KEY
from raydt.frameworks.pytorch.user.optim import Optimizing

MODEL_FILE = "model.pt"  # the built-in trainer's name too (trainer.MODEL_FILE): one layout for both
LOOP_MODULE = "raydt.frameworks.pytorch.user.loop"  # raydt_meta.json's "model": what wrote the checkpoint
DATA_KEYS = ("label", "rawColumns", "classes", "steps")  # dataConfig's, as the built-in checkpoints keep them


def save(directory: str, states: dict[str, Any], progress: dict[str, Any], meta: dict[str, Any]) -> Any:
    """Rank 0's checkpoint of ``states`` (``strategy.states``: model, optimizer, schedule, scaler) and
    ``progress`` (epoch, and early stopping's best and stale count)."""
    import random

    import numpy as np
    import ray.train
    import torch

    from raydt.frameworks.checkpoint_format import write_meta

    rng = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    state = {**states, **progress, "rng": rng}
    torch.save(state, os.path.join(directory, MODEL_FILE))
    write_meta(directory, meta)
    return ray.train.Checkpoint.from_directory(directory)


def resume(checkpoint: Any, model: Any, opt: Optimizing) -> dict[str, Any]:
    """Model (as prepared: DDP, or FSDP's shards), optimizer, schedule, scaler and RNG state from ``checkpoint``;
    the progress saved with them (``{"epoch": 0}`` for a fresh start)."""
    import random

    import numpy as np
    import torch

    if checkpoint is None:
        return {"epoch": 0}
    from raydt.frameworks.pytorch.user import strategy

    with checkpoint.as_directory() as ckpt_dir:
        state = torch.load(os.path.join(ckpt_dir, MODEL_FILE), weights_only=False, map_location="cpu")
    strategy.load(model, opt, state)
    rng = state.get("rng")
    if rng:
        torch.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
    return {k: state[k] for k in ("epoch", "best", "stale") if k in state}


def load_weights(checkpoint: Any, model: Any) -> None:
    """Only the model's weights from ``checkpoint`` (warmStart.initFromBest: this trial's optimizer, schedule and
    epochs start fresh), into the model as prepared (DDP, or FSDP's shards)."""
    import torch

    from raydt.frameworks.pytorch.user import strategy

    with checkpoint.as_directory() as ckpt_dir:
        state = torch.load(os.path.join(ckpt_dir, MODEL_FILE), weights_only=False, map_location="cpu")
    strategy.load_weights(model, state["model"])


def meta(
    refs: dict[str, Any], config: dict[str, Any], sample: Any, outputs: int, classification: bool
) -> dict[str, Any]:
    """``raydt_meta.json`` of a user-model checkpoint: what serving needs to rebuild and feed the model.
    A classifier also gets the built-in predictor's keys (``inputSize``: the flattened row, ``numClasses``), so
    ``mode: serve`` answers class labels without a predictorPath; ``outputs``: the model's output width."""
    from raydt.frameworks.data import data_info

    out: dict[str, Any] = {
        "framework": "pytorch",
        "model": LOOP_MODULE,
        "userModel": refs,
        "config": {k: v for k, v in config.items() if k != RESERVED_KEY},
        "inputShape": list(sample.shape),
        "inputDtype": str(sample.dtype).removeprefix("torch."),
        "task": "classification" if classification else "regression",
    }
    if classification:
        out.update(inputSize=int(sample.numel()), numClasses=2 if refs.get("loss") == "bce" else outputs)
    info = data_info(config)
    if info is not None:  # dataConfig: the built-in predictor applies the fitted pipeline to raw rows, then labels
        out.update(preprocessing={"pipeline": PIPELINE_FILE}, data={k: info.get(k) for k in DATA_KEYS})
    return out


def output_width(model: Any, sample: Any) -> int:
    """The model's output width for one row (DDP: the plain module, no collective; FSDP: a collective forward,
    so every rank calls it)."""
    import torch

    inner = model.module if hasattr(model, "module") else model
    device = next(inner.parameters()).device
    was_training = inner.training
    inner.eval()
    with torch.no_grad():
        width = int(inner(sample.unsqueeze(0).to(device)).shape[-1])
    inner.train(was_training)
    return width
