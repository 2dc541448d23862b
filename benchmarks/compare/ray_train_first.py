"""The hand-written Ray Train script for the time-to-first-result benchmark: 1 CPU worker, Ray's defaults.

python benchmarks/compare/ray_train_first.py
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import loops  # noqa: E402
import ray  # noqa: E402
from ray.train import RunConfig, ScalingConfig  # noqa: E402
from ray.train.torch import TorchTrainer  # noqa: E402

ray.init()
TorchTrainer(
    loops.stamped,
    train_loop_config={"epochs": 2},
    scaling_config=ScalingConfig(num_workers=1, use_gpu=False),
    run_config=RunConfig(storage_path=os.path.abspath("ray_results"), name="first"),
).fit()
