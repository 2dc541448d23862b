"""Built-in PyTorch trainer: an MLP on digits, DDP across Ray Train workers.

Hyperparameters (defaults in ``INFO``): ``lr``, ``batchSize``, ``epochs``, ``hiddenSize``. Reports
``train_loss``, ``val_loss``, ``val_accuracy`` and ``epoch`` every epoch with a checkpoint (model, optimizer,
epoch, and the preprocessing statistics), and resumes from ``ray.train.get_checkpoint()``.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from raydt.frameworks.common import RESERVED_KEY
from raydt.frameworks.pytorch import INFO

MODEL_FILE = "model.pt"  # torch.save({"model", "optimizer", "epoch"}) beside raydt_meta.json


def build_model(input_size: int, hidden_size: int, num_classes: int) -> Any:
    """The MLP (also used to load a checkpoint for prediction)."""
    from torch import nn

    return nn.Sequential(
        nn.Linear(input_size, hidden_size),
        nn.ReLU(),
        nn.Linear(hidden_size, hidden_size),
        nn.ReLU(),
        nn.Linear(hidden_size, num_classes),
    )


def _save(directory: str, model: Any, optimizer: Any, epoch: int, meta: dict[str, Any], config: dict[str, Any]) -> Any:
    """Rank 0's checkpoint: model, optimizer and epoch in ``model.pt``, plus raydt's metadata files."""
    import ray.train
    import torch

    from raydt.frameworks.data import write_checkpoint_files

    inner = model.module if hasattr(model, "module") else model
    state = {"model": inner.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}
    torch.save(state, os.path.join(directory, MODEL_FILE))
    write_checkpoint_files(directory, meta, config)
    return ray.train.Checkpoint.from_directory(directory)


def _batches(loader: Any, info: dict[str, Any] | None, batch_size: int, device: Any) -> Any:
    """One epoch of (x, y): the bundled data's loader, or this worker's Ray Data shard streamed."""
    import ray.train
    import torch

    from raydt.frameworks.checkpoint_format import FEATURES

    if loader is not None or info is None:
        yield from loader or []
        return
    label = str(info["label"])
    shard = ray.train.get_dataset_shard("train")
    for batch in shard.iter_torch_batches(
        batch_size=batch_size,
        dtypes={FEATURES: torch.float32, label: torch.int64},
        device=device,
        local_shuffle_buffer_size=max(4 * batch_size, 256),
    ):
        yield batch[FEATURES].reshape(len(batch[label]), -1), batch[label]


def _resume(checkpoint: Any, model: Any, optimizer: Any) -> int:
    """Load model and optimizer from ``checkpoint`` (None: a fresh start); the epochs already trained."""
    import torch

    if checkpoint is None:
        return 0
    with checkpoint.as_directory() as ckpt_dir:
        state = torch.load(os.path.join(ckpt_dir, MODEL_FILE), weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return int(state["epoch"])


# A per-worker loop reads top to bottom, as Ray Train's docs write one (data, model, resume, epochs,
# report); its pieces only make sense in this order, hence its length.
def train_loop(config: dict[str, Any]) -> None:
    """Ray Train per-worker loop (with trainConfig.model: raydt's loop for the user's model, ``user.loop``)."""
    if (config.get(RESERVED_KEY) or {}).get("userModel"):
        from raydt.frameworks.pytorch.user.loop import train_loop as user_model_loop

        return user_model_loop(config)
    import ray.train
    import ray.train.torch
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from raydt.frameworks.common import Drain, checkpoint_every, due, initial_weights, starting_checkpoint
    from raydt.frameworks.data import checkpoint_meta, data_info, digits, load

    hp = INFO.hyperparameters(config)
    lr, batch_size, epochs, hidden = float(hp["lr"]), int(hp["batchSize"]), int(hp["epochs"]), int(hp["hiddenSize"])
    torch.manual_seed(int(config.get("seed", 0)))

    info = data_info(config)
    data = load(config, digits, train_rows=False)  # dataConfig: this worker's shard streams each epoch
    input_size = int(info["inputSize"]) if info else data.x_train.shape[1]
    model = build_model(input_size, hidden, data.num_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    start_epoch = _resume(starting_checkpoint(config), model, optimizer)
    if start_epoch == 0 and (init := initial_weights(config)) is not None:  # warmStart.initFromBest
        with init.as_directory() as ckpt_dir:
            model.load_state_dict(torch.load(os.path.join(ckpt_dir, MODEL_FILE), weights_only=False)["model"])
    every = checkpoint_every(config)

    model = ray.train.torch.prepare_model(model)
    device = ray.train.torch.get_device()
    loader = None
    if info is None:
        train_ds = TensorDataset(torch.from_numpy(data.x_train), torch.from_numpy(data.y_train))
        loader = ray.train.torch.prepare_data_loader(DataLoader(train_ds, batch_size=batch_size, shuffle=True))

    x_val = torch.from_numpy(data.x_val).to(device)
    y_val = torch.from_numpy(data.y_val).to(device)
    loss_fn = torch.nn.CrossEntropyLoss()
    context = ray.train.get_context()

    preempting = Drain()  # a node of the run drained for preemption: checkpoint each epoch, hold near the deadline
    for epoch in range(start_epoch, epochs):
        preempting.hold()  # an epoch that would end too close to the drain's deadline is not started
        sampler: Any = getattr(loader, "sampler", None)
        if context.get_world_size() > 1 and hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        model.train()
        total = torch.zeros(2, device=device)  # loss sum, sample count
        for xb, yb in _batches(loader, info, batch_size, device):
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += torch.stack([loss.detach() * len(yb), torch.tensor(float(len(yb)), device=device)])
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(total)
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = float(loss_fn(logits, y_val))
            val_acc = float((logits.argmax(dim=1) == y_val).float().mean())
        metrics = {
            "epoch": epoch + 1,
            "train_loss": float(total[0] / total[1]),
            "val_loss": val_loss,
            "val_accuracy": val_acc,
        }
        drained = preempting()  # every rank, every epoch (a collective): checkpoint now while a node is drained
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = None
            if context.get_world_rank() == 0 and (drained or due(epoch + 1, epochs, every)):
                meta = checkpoint_meta(
                    INFO.name,
                    __name__,
                    data,
                    config,
                    inputSize=input_size,
                    hiddenSize=hidden,
                    config={"lr": lr, "batchSize": batch_size, "epochs": epochs, "hiddenSize": hidden},
                )
                ckpt = _save(tmp, model, optimizer, epoch + 1, meta, config)
            ray.train.report(metrics, checkpoint=ckpt)
