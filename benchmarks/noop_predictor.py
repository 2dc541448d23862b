"""A no-op predictor for raydt's serve endpoint (``serveConfig.predictorPath``), used by bench_serve_compare.py to
time raydt's request path without a model: one prediction (0) per instance."""

from __future__ import annotations

from typing import Any


class NoopPredictor:
    def __init__(self, checkpoint_dir: str) -> None:
        self.checkpoint_dir = checkpoint_dir

    def predict(self, instances: list[Any]) -> list[int]:
        return [0] * len(instances)
