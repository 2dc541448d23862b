"""Build the JSON result: exactly the seed's output schema, plus documented camelCase extras."""

from __future__ import annotations

import math
import os
from typing import Any

from raydt.errors import (
    EXIT_PARTIAL,
    EXIT_RUN_ERROR,
    EXIT_SPEC_ERROR,
    EXIT_SUCCESS,
    DataError,
    MetricNotReportedError,
    RaydtError,
    RunError,
    SpecError,
    SpecFileError,
    UsageError,
)

SUCCESS, ERROR, PARTIAL = "success", "error", "partial"
#: error codes of an invalid spec, command line or data: exit 2 wherever they are reported
SPEC_CODES = frozenset(cls.code for cls in (SpecError, SpecFileError, DataError, UsageError))


def error_result(err: RaydtError, **extra: Any) -> dict[str, Any]:
    """``status: "error"`` with the stable error object; ``results`` stays present (it is required)."""
    out: dict[str, Any] = {"status": ERROR, "results": {"numTrials": 0, "completedTrials": 0}}
    out["error"] = err.to_dict()
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def exit_code(result: dict[str, Any]) -> int:
    """The exit code of a result document: 0 success, 3 partial, 2 an invalid spec, command line or data
    (``SPEC_CODES``), 1 any other error."""
    status = result.get("status")
    if status == SUCCESS:
        return EXIT_SUCCESS
    if status == PARTIAL:
        return EXIT_PARTIAL
    error = result.get("error")
    return EXIT_SPEC_ERROR if isinstance(error, dict) and error.get("code") in SPEC_CODES else EXIT_RUN_ERROR


def finite(value: Any) -> bool:
    """A reported metric value usable for ranking."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def best_report(history: list[dict[str, Any]], metric: str, mode: str) -> tuple[int, dict[str, Any]]:
    """Index and record of the best report of ``metric``, preferring reports that saved a checkpoint.

    Raises ``MetricNotReportedError`` (listing what was reported) if no report has the metric.
    """
    scored = [(i, r) for i, r in enumerate(history) if finite(r["metrics"].get(metric))]
    if not scored and any(metric in r["metrics"] for r in history):
        raise RunError(
            f"metric '{metric}' was reported but never as a finite number (NaN or infinite every time)",
            hint="The training diverged: lower the learning rate, check the data for NaN, or clip gradients.",
            code="NAN_METRIC",
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
