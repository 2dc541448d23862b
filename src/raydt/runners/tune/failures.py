"""A finished search without a best trial, as its result: no trial met the constraints (partial), or none produced
the metric because the search was interrupted, the metric was never reported, or trials failed (error).
Ray-free: it reads the rows ``runners.tune.results`` built."""

from __future__ import annotations

from typing import Any

from raydt.errors import InterruptedRunError, MetricNotReportedError, NoFeasibleTrialError, RunError
from raydt.plan import TunePlan
from raydt.results import Document
from raydt.results.model import ErrorInfo
from raydt.runners.ending import INTERRUPTED, MAX_FAILED, Ending, resume_hint


def no_feasible(out: Document, p: TunePlan) -> Document:
    """Trials produced the metric but none met the constraints: partial, with the constraints in the message."""
    rules = ", ".join(c.describe() for c in p.search.constraints)
    out.status = "partial"
    out.error = _info(
        NoFeasibleTrialError(
            f"no trial met tuneConfig.constraints ({rules}) in its last report; {out.results.num_trials} trial(s) ran"
        ).to_dict()
    )
    return out


def _info(error: dict[str, Any]) -> ErrorInfo:
    return ErrorInfo.model_validate(error)


def without_best(out: Document, p: TunePlan, rows: list[dict[str, Any]], reported: set[str], end: Ending) -> Document:
    """No trial produced a usable value: interrupted early, the metric never reported, or trials failed.

    A metric typo is diagnosed only when trials reported something else, or when none failed: trials that
    failed before any report (tuneConfig.maxFailedTrials can end the search then, with the others cut off
    or never started) reported nothing because they failed, and their exceptions are the cause."""
    out.status = "error"
    where = p.train.experiment_path
    if end.reason == INTERRUPTED:
        out.error = _info(InterruptedRunError("interrupted before any result", hint=resume_hint(where)).to_dict())
        return out
    metric = p.train.metric
    failed = [r for r in rows if r["status"] == "ERROR"]
    if out.results.completed_trials and metric not in reported and (reported or not failed):
        err = MetricNotReportedError(
            f"metric '{metric}' was never reported by any trial; trials reported: "
            f"{', '.join(sorted(reported)) or '(nothing)'}",
            hint="Set tuneConfig.metric to one of the reported metrics, or report it from the trainer.",
        )
        err.details = {"experimentPath": where, "reported": sorted(reported)}
        raise err
    first = failed[0]["error"] if failed else {"code": RunError.code, "message": "no trial produced the metric"}
    if len(failed) == len(rows):
        head = f"all {len(rows)} trial(s) failed"
    else:
        head = f"{len(failed)} of {len(rows)} trial(s) failed and no trial reported '{metric}'"
    if end.reason == MAX_FAILED:
        head += f" (the search ended at tuneConfig.maxFailedTrials: {p.search.max_failed_trials})"
    message = f"{head}; first: {first.get('class', '')}: {first['message']}"
    out.error = _info(
        {"code": first["code"], "message": message, "hint": "See trials[].error for each trial's traceback tail."}
    )
    return out
