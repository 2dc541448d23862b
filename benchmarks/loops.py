"""Ray Train loops shared by raydt's specs and the hand-written comparisons."""

import json
import os
import time

import ray.train


def stamped(config):
    """Two tiny epochs; the time of the first report goes to $BENCH_WORKDIR/first_report.txt."""
    for epoch in range(config.get("epochs", 2)):
        if epoch == 0 and ray.train.get_context().get_world_rank() == 0:
            path = os.path.join(os.environ.get("BENCH_WORKDIR", "."), "first_report.txt")
            with open(path, "w") as fh:
                fh.write(f"{time.time()}\n")
        ray.train.report({"loss": 1.0 / (epoch + 1), "epoch": epoch + 1})


def ingest(config):
    """Read this worker's Ray Data shard as torch batches for ``epochs`` epochs; report rows/s into training
    (the whole group's estimate: this worker's rate x workers) per epoch."""
    import torch

    ctx = ray.train.get_context()
    shard = ray.train.get_dataset_shard("train")
    best = 0.0
    for epoch in range(config.get("epochs", 2)):
        start, rows, checksum = time.perf_counter(), 0, 0.0
        for batch in shard.iter_torch_batches(batch_size=config.get("batchSize", 1024), dtypes=torch.float32):
            features = (
                batch["features"]
                if "features" in batch
                else torch.stack([v for k, v in batch.items() if k != "y"], dim=1)
            )
            rows += len(features)
            checksum += float(features[:, 0].sum())  # touch the data
        seconds = time.perf_counter() - start
        rate = rows * ctx.get_world_size() / seconds
        best = max(best, rate)
        ray.train.report(
            {
                "epoch": epoch + 1,
                "rows": rows,
                "seconds": seconds,
                "rowsPerS": rate,
                "bestRowsPerS": best,
                "checksum": checksum,
            }
        )
        if ctx.get_world_rank() == 0:  # Ray Train v2's Result.metrics stays None without checkpoints
            with open(os.path.join(os.environ.get("BENCH_WORKDIR", "."), "ingest.json"), "w") as fh:
                fh.write(json.dumps({"bestRowsPerS": best, "rows": rows}))
