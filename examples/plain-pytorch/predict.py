"""What `mode: serve` answers for the model (trainConfig.postprocess): the model's output tensor for the request's
instances in, one JSON-ready prediction per instance out."""

from __future__ import annotations

from typing import Any


def postprocess(outputs: Any, instances: list[Any]) -> list[dict[str, Any]]:
    """The digit and the model's confidence in it (softmax of the logits)."""
    probs = outputs.softmax(dim=1)
    best = probs.max(dim=1)
    return [{"digit": int(i), "confidence": round(float(p), 4)} for p, i in zip(best.values, best.indices, strict=True)]
