"""Metric values a result can carry: what counts as finite, the best report of a run, JSON-safe metrics."""

from __future__ import annotations

import math
import os
from typing import Any

from raydt.errors import MetricNotReportedError, NanMetricError


def finite(value: Any) -> bool:
    """A reported metric value usable for ranking."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def best_report(history: list[dict[str, Any]], metric: str, mode: str) -> tuple[int, dict[str, Any]]:
    """Index and record of the best report of ``metric``, preferring reports that saved a checkpoint.

    Raises ``MetricNotReportedError`` (listing what was reported) if no report has the metric.
    """
    scored = [(i, r) for i, r in enumerate(history) if finite(r["metrics"].get(metric))]
    if not scored and any(metric in r["metrics"] for r in history):
        raise NanMetricError(
            f"metric '{metric}' was reported but never as a finite number (NaN or infinite every time)"
        )
    if not scored:
        reported = sorted({k for r in history for k in r["metrics"]})
        seen = ", ".join(reported) if reported else "nothing (ray.train.report was never called)"
        raise MetricNotReportedError(
            f"metric '{metric}' was never reported; the trainer reported: {seen}",
            hint="Set trainConfig.metric (or tuneConfig.metric) to one of the reported metrics, "
            f"or report '{metric}' from your trainer.",
        )
    with_ckpt = [(i, r) for i, r in scored if r.get("checkpoint")]
    pool = with_ckpt or scored
    sign = 1.0 if mode == "min" else -1.0
    return min(pool, key=lambda item: sign * float(item[1]["metrics"][metric]))


def clean_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """Metrics safe for JSON: NaN/inf become null, non-scalars are dropped."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            out[key] = None
        elif isinstance(value, bool | int | float | str) or value is None:
            out[key] = value
    return out


def existing_dir(path: str | None) -> str | None:
    """``path`` if it is a directory here (local or shared storage), else None."""
    return path if path and os.path.isdir(path) else None
