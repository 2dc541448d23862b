"""A finished (or interrupted) train run's result: what ``runners.train.fit`` left behind, as the seed's output
with raydt's keys (the best report, its checkpoint, retries, why the run ended). Ray-free."""

from __future__ import annotations

from typing import Any, cast

from raydt import utilisation
from raydt.errors import InterruptedRunError, MetricNotReportedError, NodePreemptedError, failure_code
from raydt.frameworks.common import RESERVED_KEY
from raydt.plan import TrainPlan
from raydt.results import Document, Results, best_report, clean_metrics, existing_dir
from raydt.results.model import ClusterStatus, ElasticWorkers, EndReason, MetricMode, Retry
from raydt.results.usage import RunUsage
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
        began: float | None = None,
        preemptions: list[dict[str, Any]] | None = None,
    ) -> None:
        self.interrupted = interrupted
        self.began = began  # epoch seconds fit() was called: the workers' usage records of this run start later
        self.history = history
        self.worker_errors = worker_errors
        self.path = path
        self.elapsed = elapsed
        self.last_checkpoint = last_checkpoint
        self.preemptions = preemptions or []  # restarts after a node drained for preemption (maxPreemptions)


#: a worker on another node may stamp its record by a clock slightly behind the driver's
CLOCK_SLACK_S = 5.0


def _utilisation(p: TrainPlan, outcome: Outcome, found: Results) -> list[str]:
    """What the workers used of what they reserved, per rank and for the run (this run's records only: a
    resumed experiment keeps the earlier run's), and the warnings that say what to change."""
    folder = utilisation.usage_folder(p.experiment_path)
    began = outcome.began
    records = utilisation.read(folder, since=began - CLOCK_SLACK_S) if folder and began is not None else []
    total = utilisation.summary(records)
    if total is None:
        return []
    found.utilisation = RunUsage.model_validate({**total, "workers": utilisation.by_rank(records)})
    return utilisation.advice(records, "train")


def _retry(item: dict[str, Any]) -> Retry:
    """A worker-group failure the run recovered from: its class and each failed rank's error; or a restart after a
    node of the run was drained for preemption (``ray_compat.train.PreemptionEvents``): NODE_PREEMPTED."""
    if item.get("event") == "preempted":
        where = (
            f"node(s) {', '.join(n[:12] for n in item['nodes'])}, rank(s) {item['ranks']}: "
            if item.get("nodes")
            else ""
        )
        return Retry(code=NodePreemptedError.code, error=f"{where}{item.get('error', '')}"[:500])
    errors: dict[str, str] = item.get("errors", {})
    text = "; ".join(f"rank {rank}: {error}" for rank, error in sorted(errors.items()))
    return Retry(code=failure_code(RuntimeError(text)), error=text[:500])


def retries(outcome: Outcome) -> list[Retry]:
    """Every restart the run recovered from, in the order they happened: failures (``maxFailures``) and
    preemptions (``maxPreemptions``)."""
    items = sorted([*outcome.worker_errors, *outcome.preemptions], key=lambda item: float(item.get("time", 0.0)))
    return [_retry(item) for item in items]


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
    found = Results(
        best_config={k: v for k, v in p.loop_config.items() if k != RESERVED_KEY},
        best_metric=float(best["metrics"][p.metric]),
        num_trials=1,
        completed_trials=0 if outcome.interrupted else 1,
        metric=p.metric,
        metric_mode=cast(MetricMode, p.metric_mode),
        best_iteration=index + 1,
        iterations=len(outcome.history),
        best_metrics=clean_metrics(best["metrics"]),
        final_metrics=clean_metrics(final),
        end_reason=cast(EndReason, reason),
    )
    if planned is not None:
        found.planned_iterations = planned
    if outcome.worker_errors or outcome.preemptions:  # only failures a retry can fix are retried (SystemFailuresOnly)
        found.retries = retries(outcome)
    out = Document(
        status="partial" if outcome.interrupted else "success",
        results=found,
        cluster_status=ClusterStatus.model_validate(status),
        training_time=round(outcome.elapsed, 3),
        mode="train",
        framework=p.framework.name,
        experiment_path=outcome.path,
        num_workers=p.workers.num_workers,
        resources_per_worker=p.workers.resources,
        worker_failures=len(outcome.worker_errors),
        restarts=len(outcome.worker_errors) + len(outcome.preemptions),  # every restart that did not end the run
    )
    if p.workers.elastic:
        out.elastic_workers = ElasticWorkers(min=p.workers.min_workers or 1, max=p.workers.num_workers)
    warnings = _utilisation(p, outcome, found)
    if outcome.interrupted:
        out.interrupted = True
        warnings.append(f"interrupted (Ctrl-C): best result so far. {resume_hint}")
    if checkpoint:
        out.checkpoint_path = checkpoint
    else:
        warnings.append("the trainer never saved a checkpoint (pass checkpoint= to ray.train.report)")
    if warnings:
        out.warnings = warnings
    return out.dump()
