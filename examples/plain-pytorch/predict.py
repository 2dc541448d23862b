"""What `mode: serve` does around the model: trainConfig.preprocess turns the request's raw instances into the
model's inputs (as the data function prepared the training rows), trainConfig.postprocess turns the model's output
tensor into one JSON-ready prediction per instance."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _diabetes_scale() -> tuple[Any, Any]:
    """The mean and standard deviation data.py:diabetes standardised the features with."""
    import torch
    from sklearn.datasets import load_diabetes

    x = torch.tensor(load_diabetes(return_X_y=True)[0], dtype=torch.float32)
    return x.mean(0), x.std(0)


def standardise(instances: list[Any]) -> Any:
    """Raw diabetes rows (10 features, as scikit-learn gives them) -> the standardised rows the regressor trained on."""
    import torch

    mean, std = _diabetes_scale()
    return (torch.tensor(instances, dtype=torch.float32) - mean) / std


def postprocess(outputs: Any, instances: list[Any]) -> list[dict[str, Any]]:
    """The digit and the model's confidence in it (softmax of the logits)."""
    probs = outputs.softmax(dim=1)
    best = probs.max(dim=1)
    return [{"digit": int(i), "confidence": round(float(p), 4)} for p, i in zip(best.values, best.indices, strict=True)]
