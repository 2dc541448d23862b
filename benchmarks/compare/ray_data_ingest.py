"""The hand-written Ray Data + Ray Train script (as Ray's documentation shows it): read the CSV, split,
fit a StandardScaler on the training part, materialize, hand the datasets to a TorchTrainer on 2 workers;
the same per-worker ingest loop as raydt's spec.

Materialized because the lazy version never finishes here: with 2 workers x 1 CPU on 2 CPUs, Ray Data's
streaming tasks get no CPU while the workers wait for them (measured: backpressured on its resource
budget for minutes, killed at the time limit). Ray's docs recommend materialize() when the data fits.

    python benchmarks/compare/ray_data_ingest.py CSV EPOCHS
"""

import json
import os
import sys
import time

import ray
from loops import ingest
from ray.data.preprocessors import StandardScaler
from ray.train import RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

path, epochs = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
ray.init()
ds = ray.data.read_csv(path)
train, val = ds.train_test_split(test_size=0.2, shuffle=True, seed=0)
features = [c for c in train.columns() if c != "y"]
scaler = StandardScaler(features)
train = scaler.fit_transform(train).materialize()
val = scaler.transform(val).materialize()
trainer = TorchTrainer(
    ingest,
    train_loop_config={"epochs": epochs, "batchSize": 1024},
    scaling_config=ScalingConfig(num_workers=2, use_gpu=False),
    run_config=RunConfig(storage_path=os.path.abspath("ray_results"), name="ingest"),
    datasets={"train": train, "validation": val},
)
result = trainer.fit()
print(
    json.dumps(
        {
            **json.loads(open(os.path.join(os.environ.get("BENCH_WORKDIR", "."), "ingest.json")).read()),
            "inScriptS": time.perf_counter() - start,
        }
    )
)
