"""The hand-written Ray Train loop for the user-loop benchmark: the model and data of ``user_model.py`` trained
on 2 workers x 1 CPU the way Ray Train's documentation writes a loop (``prepare_model``,
``prepare_data_loader``, a ``DistributedSampler`` epoch, metrics reduced across workers, ``ray.train.report``
every epoch with a checkpoint of model and optimizer on rank 0). The same as raydt's loop for
``trainConfig.model`` does, minus raydt's options (schedule, precision, clipping, accumulation, resume).

Ray Train's health-check interval is raydt's (0.2 s, set before ``ray.init``: the driver's environment reaches
the workers), so the loops, not that setting, are compared (benchmark 3 measures the setting).

    python benchmarks/compare/ray_train_user.py CONFIG_JSON
"""

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")

import ray  # noqa: E402
import ray.train  # noqa: E402
import ray.train.torch  # noqa: E402
import torch  # noqa: E402
from ray.train import RunConfig, ScalingConfig  # noqa: E402
from ray.train.torch import TorchTrainer  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from user_model import build_mlp, synthetic  # noqa: E402


def train_loop_per_worker(config):
    torch.manual_seed(0)
    train_ds, val_ds = synthetic(config)
    model = build_mlp(config)
    train_loader = ray.train.torch.prepare_data_loader(
        DataLoader(train_ds, batch_size=config["batchSize"], shuffle=True)
    )
    val_loader = ray.train.torch.prepare_data_loader(DataLoader(val_ds, batch_size=config["batchSize"]))
    model = ray.train.torch.prepare_model(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    rank = ray.train.get_context().get_world_rank()
    for epoch in range(config["epochs"]):
        if hasattr(train_loader.sampler, "set_epoch"):
            train_loader.sampler.set_epoch(epoch)
        model.train()
        total, count = 0.0, 0
        for xb, yb in train_loader:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
            count += len(yb)
        model.eval()
        val_total, hits, rows = 0.0, 0, 0
        with torch.no_grad():
            for xb, yb in val_loader:
                out = model(xb)
                val_total += loss_fn(out, yb).item() * len(yb)
                hits += int((out.argmax(1) == yb).sum())
                rows += len(yb)
        sums = torch.tensor([total, count, val_total, hits, rows], dtype=torch.float64)
        torch.distributed.all_reduce(sums)
        metrics = {
            "epoch": epoch + 1,
            "train_loss": float(sums[0] / sums[1]),
            "val_loss": float(sums[2] / sums[4]),
            "val_accuracy": float(sums[3] / sums[4]),
        }
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint = None
            if rank == 0:
                state = {"model": model.module.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1}
                torch.save(state, os.path.join(tmp, "model.pt"))
                checkpoint = ray.train.Checkpoint.from_directory(tmp)
            ray.train.report(metrics, checkpoint=checkpoint)


config = json.loads(sys.argv[1])
start = time.perf_counter()
ray.init()
trainer = TorchTrainer(
    train_loop_per_worker,
    train_loop_config=config,
    scaling_config=ScalingConfig(num_workers=2, use_gpu=False, resources_per_worker={"CPU": 1}),
    run_config=RunConfig(storage_path=os.path.abspath("ray_results"), name="user-loop"),
)
fit_start = time.perf_counter()
result = trainer.fit()
fit_s = time.perf_counter() - fit_start
metrics = {"fitS": fit_s, "valAccuracy": result.metrics["val_accuracy"]}
print(json.dumps({**metrics, "inScriptS": time.perf_counter() - start}))
