"""The hand-written Ray Train script: TorchTrainer on 2 CPU workers with Ray's defaults, running the same
per-worker loop as raydt's built-in PyTorch trainer (so only the orchestration differs).

    python benchmarks/compare/ray_train_mlp.py EPOCHS
"""

import json
import os
import sys
import time

import ray
from ray.train import RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from raydt.frameworks.pytorch.trainer import train_loop

epochs = int(sys.argv[1])
start = time.perf_counter()
ray.init()
trainer = TorchTrainer(
    train_loop,
    train_loop_config={"lr": 0.01, "batchSize": 32, "hiddenSize": 64, "epochs": epochs},
    scaling_config=ScalingConfig(num_workers=2, use_gpu=False),
    run_config=RunConfig(storage_path=os.path.abspath("ray_results"), name="mlp"),
)
fit_start = time.perf_counter()
result = trainer.fit()
fit_s = time.perf_counter() - fit_start
metrics = {"fitS": fit_s, "valAccuracy": result.metrics["val_accuracy"]}
print(json.dumps({**metrics, "inScriptS": time.perf_counter() - start}))
