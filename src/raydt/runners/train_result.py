"""A finished (or interrupted) train run's result: what ``runners.train.fit`` left behind, as the seed's output
with raydt's keys (the best report, its checkpoint, retries, why the run ended). Ray-free."""

from __future__ import annotations

from typing import Any

from raydt.errors import InterruptedRunError, MetricNotReportedError, failure_code
from raydt.frameworks.common import RESERVED_KEY
from raydt.plan import TrainPlan
from raydt.results import PARTIAL, SUCCESS, best_report, clean_metrics, existing_dir
from raydt.runners import ending as tune_ending


class Outcome:
    """What one fit() left behind."""

    def __init__(
        self,
        history: list[dict[str, Any]],
        worker_errors: list[dict[str, Any]],
        path: str | None,
        elapsed: float,
        last_checkpoint: str | None,
        interrupted: bool = False,
    ) -> None:
        self.interrupted = interrupted
        self.history = history
        self.worker_errors = worker_errors
        self.path = path
        self.elapsed = elapsed
        self.last_checkpoint = last_checkpoint


def _retry(item: dict[str, Any]) -> dict[str, Any]:
    """A worker-group failure the run recovered from: its class and each failed rank's error."""
    errors: dict[str, str] = item.get("errors", {})
    text = "; ".join(f"rank {rank}: {error}" for rank, error in sorted(errors.items()))
    return {"code": failure_code(RuntimeError(text)), "error": text[:500]}


#: results.endReason of a train run (INTERRUPTED: Ctrl-C)
COMPLETED, EARLY_STOPPED = "COMPLETED", "EARLY_STOPPED"


def ending(p: TrainPlan, outcome: Outcome) -> tuple[str, int | None, str | None]:
    """Why the run ended, the epochs it was set to (raydt's own loops only) and, when early stopping ended it
    before them, a line saying so: the last report's ``epoch`` (counted from 1, also across a resume) short of
    the planned epochs with ``patience`` set is raydt's loop stopping early, not a failure."""
    if outcome.interrupted:
        return tune_ending.INTERRUPTED, None, None
    planned = p.loop_config.get(p.framework.epochs_param) if p.trainer is None else None
    if not isinstance(planned, int):
        return COMPLETED, None, None
    patience = p.loop_config.get("patience")
    last = outcome.history[-1]["metrics"].get("epoch") if outcome.history else None
    if not isinstance(patience, int) or patience <= 0 or not isinstance(last, int | float) or last >= planned:
        return COMPLETED, planned, None
    return (
        EARLY_STOPPED,
        planned,
        (
            f"early stopping ended the run at epoch {int(last)} of {planned}: {p.metric} did not improve for "
            f"{patience} epoch(s) (trainLoopConfig.patience)"
        ),
    )


def result(p: TrainPlan, outcome: Outcome, status: dict[str, Any]) -> dict[str, Any]:
    """The seed's output for a finished (or interrupted) train run."""
    resume_hint = tune_ending.resume_hint(p.experiment_path)
    try:
        index, best = best_report(outcome.history, p.metric, p.metric_mode)
    except MetricNotReportedError as err:
        if outcome.interrupted:
            stop = InterruptedRunError("interrupted (Ctrl-C) before the first result", hint=resume_hint)
            stop.details = {"experimentPath": p.experiment_path}
            raise stop from None
        err.details = {
            "experimentPath": outcome.path,
            "lastCheckpointPath": existing_dir(outcome.last_checkpoint),
        }
        raise
    reason, planned, _ = ending(p, outcome)
    checkpoint = existing_dir(best.get("checkpoint")) or existing_dir(outcome.last_checkpoint)
    final = outcome.history[-1]["metrics"] if outcome.history else {}
    out: dict[str, Any] = {
        "status": SUCCESS,
        "results": {
            "bestConfig": {k: v for k, v in p.loop_config.items() if k != RESERVED_KEY},
            "bestMetric": float(best["metrics"][p.metric]),
            "numTrials": 1,
            "completedTrials": 1,
            "metric": p.metric,
            "metricMode": p.metric_mode,
            "bestIteration": index + 1,
            "iterations": len(outcome.history),
            "bestMetrics": clean_metrics(best["metrics"]),
            "finalMetrics": clean_metrics(final),
            "endReason": reason,
        },
        "clusterStatus": status,
        "trainingTime": round(outcome.elapsed, 3),
        "mode": "train",
        "framework": p.framework.name,
        "experimentPath": outcome.path,
        "numWorkers": p.workers.num_workers,
        **(
            {"elasticWorkers": {"min": p.workers.min_workers, "max": p.workers.num_workers}}
            if p.workers.elastic
            else {}
        ),
        "resourcesPerWorker": p.workers.resources,
        "workerFailures": len(outcome.worker_errors),
        "restarts": len(outcome.worker_errors),  # every worker-group failure that did not end the run
    }
    if planned is not None:
        out["results"]["plannedIterations"] = planned
    if outcome.worker_errors:  # only failures a retry can fix are retried (ray_compat.SystemFailuresOnly)
        out["results"]["retries"] = [_retry(item) for item in outcome.worker_errors]
    if outcome.interrupted:
        out["status"] = PARTIAL
        out["results"]["completedTrials"] = 0
        out["interrupted"] = True
        out["warnings"] = [f"interrupted (Ctrl-C): best result so far. {resume_hint}"]
    if checkpoint:
        out["checkpointPath"] = checkpoint
    else:
        out.setdefault("warnings", []).append(
            "the trainer never saved a checkpoint (pass checkpoint= to ray.train.report)"
        )
    return out
