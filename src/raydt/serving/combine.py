"""An ensemble's answers combined into one (``serveConfig.models[].ensemble.combine``). Imports no Ray."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np


def combine(bodies: list[dict[str, Any]], how: str, probabilities: bool) -> dict[str, Any]:
    """The members' answers as one: class probabilities averaged (mean) or labels counted (vote, ties broken by the
    higher mean probability, else by the better-ranked member); a user predictor's numeric predictions averaged."""
    classes = bodies[0].get("classes")
    if classes is not None and all("probabilities" in b for b in bodies):
        mean = np.mean([np.asarray(b["probabilities"], dtype=np.float64) for b in bodies], axis=0)
        if how == "mean":
            labels = [classes[i] for i in mean.argmax(axis=1).tolist()]
        else:
            labels = [_vote([b["predictions"][r] for b in bodies], mean[r], classes) for r in range(len(mean))]
        out: dict[str, Any] = {"predictions": labels}
        if probabilities:
            out["probabilities"] = np.round(mean, 6).tolist()
        return out
    rows = list(zip(*(b["predictions"] for b in bodies), strict=True))
    if how == "vote":
        return {"predictions": [_vote(list(r), None, None) for r in rows]}
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for r in rows for v in r):
        raise ValueError("combine 'mean' needs numeric predictions or class probabilities; use combine 'vote'")
    return {"predictions": [float(np.mean(r)) for r in rows]}


def _vote(labels: list[Any], mean: np.ndarray | None, classes: list[Any] | None) -> Any:
    counts = Counter(str(v) for v in labels)
    top = max(counts.values())
    tied = [v for v in labels if counts[str(v)] == top]
    if mean is not None and classes is not None and len({str(v) for v in tied}) > 1:
        return max(tied, key=lambda v: float(mean[classes.index(v)]))
    return tied[0]  # members are in rank order: the better-ranked member's label
