"""raydt's per-worker loop for a user's ``LightningModule`` (``trainConfig.model``, optional ``trainConfig.data``).

Lightning's own ``Trainer`` runs the epochs; Ray's Lightning integration fits it into the Ray Train worker:
``RayDDPStrategy`` (DDP over the process group Ray Train set up, on ``ray.train.torch.get_device()``),
``RayLightningEnvironment`` (ranks and world size from the Train context), ``prepare_trainer``, and raydt's
``RayTrainReportCallback`` (``report``) reporting every epoch with Lightning's checkpoint. Lightning puts a
DistributedSampler under each DataLoader, so each worker reads its own part of the data.

A worker restarted by Ray Train (or a run with ``resumeFromCheckpoint`` / ``raydt resume``) passes the latest
checkpoint's ``checkpoint.ckpt`` to ``Trainer.fit(ckpt_path=...)``: weights, optimizer, schedulers, loops and
callbacks come back, and training continues with the next epoch.

A single-worker loop with no process group (a Tune trial run in-process) uses Lightning's single-device strategy.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from raydt.frameworks.common import RESERVED_KEY
from raydt.frameworks.lightning import INFO, PRECISIONS


def params(config: dict[str, Any]) -> dict[str, Any]:
    """The loop's own keys: their defaults overlaid with the config (aliases folded in)."""
    from raydt.frameworks.lightning import LOOP_PARAMS

    hp = INFO.hyperparameters(config)
    return {k: hp.get(k, default) for k, default in LOOP_PARAMS.items()}


def make_trainer(hp: dict[str, Any], callbacks: list[Any]) -> Any:
    """Lightning's Trainer on this worker: Ray's DDP strategy and environment inside a Ray Train worker group,
    one device otherwise; no logger, progress bar or checkpoints of Lightning's own (raydt reports them)."""
    import lightning.pytorch as pl
    import ray.train.torch
    import torch

    device = ray.train.torch.get_device()
    accelerator = "gpu" if device.type == "cuda" else "cpu"
    common: dict[str, Any] = {
        "max_epochs": int(hp["epochs"]),
        "precision": PRECISIONS[str(hp["precision"])],
        "gradient_clip_val": float(hp["gradClip"]) or None,
        "accumulate_grad_batches": int(hp["accumulate"]),
        "callbacks": callbacks,
        "enable_checkpointing": False,
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "default_root_dir": os.path.join(tempfile.gettempdir(), "raydt-lightning"),  # Lightning writes nothing there
    }
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        from ray.train.lightning import RayDDPStrategy, RayLightningEnvironment, prepare_trainer

        strategy = RayDDPStrategy(find_unused_parameters=False)
        trainer = pl.Trainer(
            accelerator=accelerator, devices="auto", strategy=strategy, plugins=[RayLightningEnvironment()], **common
        )
        return prepare_trainer(trainer)
    return pl.Trainer(accelerator=accelerator, devices=1, **common)


def loaders(refs: dict[str, Any], config: dict[str, Any], batch: int) -> dict[str, Any]:
    """``Trainer.fit``'s data arguments: the user's LightningDataModule, DataLoaders over the user's Datasets, or
    nothing (the module's own ``train_dataloader``)."""
    from torch.utils.data import DataLoader

    from raydt.frameworks.lightning.user import code

    if not refs.get("data"):
        return {}
    datamodule, train, val = code.load_data(refs["data"], config)
    if datamodule is not None:
        return {"datamodule": datamodule}
    return {
        "train_dataloaders": DataLoader(train, batch_size=batch, shuffle=True),
        "val_dataloaders": DataLoader(val, batch_size=batch, shuffle=False),
    }


def train_loop(config: dict[str, Any]) -> None:
    """Ray Train per-worker loop for ``trainConfig.model`` with framework lightning."""
    import lightning.pytorch as pl

    from raydt.errors import UserCodeError
    from raydt.frameworks.common import checkpoint_every, starting_checkpoint
    from raydt.frameworks.lightning.user import code, report

    settings = config.get(RESERVED_KEY) or {}
    refs: dict[str, Any] = settings.get("userModel") or {}
    if not refs.get("model"):
        raise UserCodeError("framework lightning needs trainConfig.model", hint="'models.py:LitModel'.")
    hp = params(config)
    pl.seed_everything(int(hp["seed"]), workers=True, verbose=False)
    module = code.build_module(refs["model"], config)
    data = loaders(refs, config, int(hp["batchSize"]))
    callbacks = [report.callback(refs, config, checkpoint_every(config))]
    if int(hp["patience"]) > 0:
        metric, mode = refs.get("metric") or INFO.default_metric, refs.get("mode") or INFO.default_mode
        callbacks.insert(0, pl.callbacks.EarlyStopping(monitor=metric, mode=mode, patience=int(hp["patience"])))
    trainer = make_trainer(hp, callbacks)
    checkpoint = starting_checkpoint(config)
    if checkpoint is None:
        trainer.fit(module, **data)
        return
    with checkpoint.as_directory() as ckpt_dir:
        path = os.path.join(ckpt_dir, report.CHECKPOINT_NAME)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{ckpt_dir} has no {report.CHECKPOINT_NAME}: not a checkpoint of a lightning run")
        trainer.fit(module, ckpt_path=path, **data)
