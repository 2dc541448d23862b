"""Ray Tune's ResultGrid -> the seed's result: best trial, its best checkpoint, per-trial rows, and why
the search ended. Ray-free: it reads the ResultGrid's public attributes and raydt's trial ledger."""

from __future__ import annotations

import json
import os
from typing import Any, cast

from raydt.errors import NanMetricError, failure_code
from raydt.experiment.ledger import (
    LEDGER_FILE as LEDGER_FILE,  # re-exported: the report and the watchers read them here
)
from raydt.experiment.ledger import TUNE_AUTO_KEYS as TUNE_AUTO_KEYS
from raydt.experiment.ledger import read_ledger as read_ledger
from raydt.plan import TunePlan
from raydt.results import Document, Results, clean_metrics, existing_dir, finite
from raydt.results.model import EndReason, MetricMode, Retry, TrialRow
from raydt.results.search import ParetoMember
from raydt.results.usage import RunUsage
from raydt.runners.ending import ALL_TRIALS_DONE as ALL_TRIALS_DONE  # re-exported: tests and callers read them here
from raydt.runners.ending import GOAL_REACHED as GOAL_REACHED
from raydt.runners.ending import INTERRUPTED as INTERRUPTED
from raydt.runners.ending import MAX_FAILED as MAX_FAILED
from raydt.runners.ending import TIME_BUDGET as TIME_BUDGET
from raydt.runners.ending import Ending as Ending
from raydt.runners.ending import resume_hint as resume_hint
from raydt.runners.tune.failures import no_feasible, without_best


def _cause(error: BaseException) -> tuple[str, str]:
    """The user's exception class and message inside Ray's wrappers."""
    inner: BaseException = error
    for attr in ("cause", "__cause__"):
        nxt = getattr(inner, attr, None)
        if isinstance(nxt, BaseException):
            inner = nxt
    lines = [ln for ln in str(inner).strip().splitlines() if ln.strip()]
    return type(inner).__name__, (lines[-1] if lines else type(inner).__name__)[:500]


def _history(result: Any, metric: str) -> list[float]:
    df = result.metrics_dataframe
    if df is None or metric not in getattr(df, "columns", []):
        value: Any = (result.metrics or {}).get(metric)
        return [float(value)] if finite(value) else []
    return [float(v) for v in df[metric].tolist() if finite(v)]


def _report_with(result: Any, metric: str, value: float) -> dict[str, Any]:
    """Every user metric of the report where ``metric`` took ``value``."""
    df = result.metrics_dataframe
    if df is None or metric not in getattr(df, "columns", []):
        return clean_metrics({k: v for k, v in (result.metrics or {}).items() if k not in TUNE_AUTO_KEYS})
    rows = df[df[metric] == value]
    row = rows.iloc[0].to_dict() if len(rows) else {}
    return clean_metrics({k: v for k, v in row.items() if k not in TUNE_AUTO_KEYS and not k.startswith("config/")})


def _trial_statuses(grid: Any) -> dict[str, str]:
    """Tune's status of every trial, for searches without a ledger (RUNNING/PENDING/PAUSED: cut short)."""
    from raydt.ray_compat import trial_statuses

    return trial_statuses(grid)


def expected_trials(p: TunePlan) -> int:
    """Trials a search that runs to its end creates: numSamples x grid points."""
    return p.num_trials


def ending(p: TunePlan, grid: Any, trial_ids: list[str], elapsed: float, goal_reached: bool) -> Ending:
    """Why the search ended: all trials done, stopAt's goal, the time budget, or an interruption (a stop
    signal cut trials off, or the search ended before creating every trial)."""
    ledger = read_ledger(p.train.experiment_path)
    ended = frozenset(ledger.get("ended", {})) if ledger is not None else None
    statuses = _trial_statuses(grid) if ended is None else {}
    unfinished = frozenset(t for t, s in statuses.items() if s in ("RUNNING", "PENDING", "PAUSED"))
    budget_over = p.time_budget_s is not None and elapsed >= p.time_budget_s * 0.95
    goal_reached = goal_reached or bool((ledger or {}).get("goal"))
    max_failed = bool((ledger or {}).get("maxFailed"))
    stopped = goal_reached or budget_over or max_failed
    partial = Ending(ended, unfinished, stopped, "", {})
    cut = any(partial.cut(t) for t in trial_ids)
    if goal_reached:
        reason = GOAL_REACHED
    elif max_failed:
        reason = MAX_FAILED
    elif budget_over:
        reason = TIME_BUDGET
    elif cut or len(trial_ids) < expected_trials(p):
        reason = INTERRUPTED
    else:
        reason = ALL_TRIALS_DONE
    return Ending(ended, unfinished, stopped, reason, (ledger or {}).get("retries", {}))


def never_started(result: Any) -> bool:
    """Tune created the trial but never ran it (queued when the search ended): no error, nothing in its last
    result but the id Tune fills in, and no ``params.json`` (Tune's logger writes it when a trial starts, so a
    trial interrupted before its first report is not mistaken for one that never ran)."""
    if result.error is not None or any(k != "trial_id" for k in result.metrics or {}):
        return False
    return not (result.path and os.path.exists(os.path.join(result.path, "params.json")))


def _config(result: Any) -> dict[str, Any]:
    """The trial's sampled config: from its results, else the ``params.json`` Tune wrote when it started (a trial
    that failed before its first result may carry none in its metrics), else empty."""
    if isinstance(result.config, dict):
        return dict(result.config)
    try:
        with open(os.path.join(result.path or "", "params.json"), encoding="utf-8") as fh:
            found = json.load(fh)
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def trial_row(result: Any, p: TunePlan, end: Ending) -> tuple[dict[str, Any], list[float], set[str]]:
    """One trial's row, its metric history, and the user metrics it reported."""
    metric = p.train.metric
    metrics = result.metrics or {}
    user_metrics = {k: v for k, v in metrics.items() if k not in TUNE_AUTO_KEYS}
    iterations = int(metrics.get("training_iteration", 0) or 0)
    values = _history(result, metric)
    trial_id = metrics.get("trial_id") or os.path.basename(result.path or "")
    cut = end.cut(trial_id) and not result.error
    status = "ERROR" if result.error else ("INTERRUPTED" if cut and not end.stopped_by_search else "TERMINATED")
    pick = min if p.train.metric_mode == "min" else max
    row: dict[str, Any] = {
        "trialId": trial_id,
        "config": _config(result),
        "status": status,
        "iterations": iterations,
        "lastMetrics": clean_metrics(user_metrics),
        "bestMetric": pick(values) if values else None,
    }
    max_t = p.scheduler_options.get("max_t")
    if status == "TERMINATED" and (max_t or cut):
        row["stoppedEarly"] = cut or (max_t is not None and iterations < max_t)
    if result.error:
        cls, message = _cause(result.error)
        lines = str(result.error).strip().splitlines()
        row["error"] = {"code": failure_code(result.error), "class": cls, "message": message, "traceback": lines[-8:]}
    elif not values and metric in user_metrics:
        row["status"] = "ERROR"
        row["error"] = {
            "code": NanMetricError.code,
            "class": "NaN",
            "message": f"'{metric}' was reported but never as a finite number (the trial diverged)",
            "traceback": [],
        }
    return row, values, set(user_metrics)


def summarize(p: TunePlan, grid: Any, elapsed: float, goal_reached: bool = False) -> Document:
    """The result of a finished search (success, partial or error), built by field name."""
    created = list(grid)
    results = [r for r in created if not never_started(r)]  # left out of trials[]: counted in notStartedTrials
    ids = [(r.metrics or {}).get("trial_id") or os.path.basename(r.path or "") for r in results]
    end = ending(p, grid, ids, elapsed, goal_reached)
    from raydt.search.outcome import choose

    rows, reported = [], set()
    for result in results:
        row, _, seen = trial_row(result, p, end)
        reported |= seen
        rows.append(row)
    usage = _utilisation(p, rows)  # before _skeleton types the rows: each gets its trial's figures
    out = _skeleton(p, rows, elapsed, end, len(created) - len(results))
    if usage is not None:
        out.results.utilisation, notes = usage
        out.warnings = [*(out.warnings or []), *notes]
    choice = choose(p, rows)  # feasible trials, the Pareto front of several objectives, the one reported as best
    if choice.feasible is not None:
        out.results.feasible_trials = choice.feasible
    if choice.front is not None:
        out.results.pareto_front = [ParetoMember.model_validate(member) for member in choice.front]
    if choice.index is None or choice.value is None:
        return no_feasible(out, p) if choice.usable else without_best(out, p, rows, reported, end)
    value, result, row = choice.value, results[choice.index], rows[choice.index]
    out.status = "partial" if out.results.failed_trials or end.reason == INTERRUPTED else "success"
    found = out.results
    found.best_config = row["config"]
    found.best_metric = value
    found.best_trial_id = row["trialId"]
    found.best_trial_status = row["status"]
    found.best_metrics = _report_with(result, p.train.metric, value)
    if row["status"] == "INTERRUPTED":
        out.warnings = [
            *(out.warnings or []),
            f"the best value so far comes from trial {row['trialId']}, which was cut off after "
            f"{row['iterations']} iteration(s): it did not finish",
        ]
    _attach_checkpoint(out, result, p)
    return out


def _utilisation(p: TunePlan, rows: list[dict[str, Any]]) -> tuple[RunUsage, list[str]] | None:
    """Each trial's usage in its row, and the run's over the trials in rows, with the warnings it gives."""
    from raydt import utilisation

    folder = utilisation.usage_folder(p.train.experiment_path)
    ids = {row["trialId"] for row in rows}
    records = [r for r in utilisation.read(folder) if r["owner"] in ids] if folder else []
    total = utilisation.summary(records)
    if total is None:
        return None
    per_trial = utilisation.by_owner(records)
    for row in rows:
        if row["trialId"] in per_trial:
            row["utilisation"] = per_trial[row["trialId"]]
    return RunUsage.model_validate(total), utilisation.advice(records, "tune")


def _skeleton(p: TunePlan, rows: list[dict[str, Any]], elapsed: float, end: Ending, not_started: int) -> Document:
    """The result's counts and keys every search has; numTrials = completed + failed + interrupted."""
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("TERMINATED", "ERROR", "INTERRUPTED")}
    found = Results(
        num_trials=len(rows),
        completed_trials=counts["TERMINATED"],
        failed_trials=counts["ERROR"],
        interrupted_trials=counts["INTERRUPTED"],
        end_reason=cast(EndReason, end.reason),
        metric=p.train.metric,
        metric_mode=cast(MetricMode, p.train.metric_mode),
        search_algorithm=p.searcher,
        scheduler=p.scheduler,
        search_choice=p.choice_reason,
    )
    retries = [{"trialId": trial, **entry} for trial, entries in sorted(end.retries.items()) for entry in entries]
    if not_started:
        found.not_started_trials = not_started
    if retries:  # failures a retry can fix (a dead trial process or node); a trainer's exception is not retried
        found.retries = [Retry.model_validate(retry) for retry in retries]
    warnings = []
    if end.reason == MAX_FAILED:
        unrun = f"; {not_started} queued trial(s) never started" if not_started else ""
        warnings.append(
            f"the search ended once {p.search.max_failed_trials} trial(s) had failed (tuneConfig.maxFailedTrials)"
            f"{unrun}"
        )
    out = Document(
        results=found,
        training_time=round(elapsed, 3),
        mode="tune",
        framework=p.train.framework.name,
        experiment_path=p.train.experiment_path,
        num_workers=p.train.workers.num_workers,
        resources_per_worker=p.train.workers.resources,
        trials=[TrialRow.model_validate(row) for row in rows],
    )
    if end.reason == INTERRUPTED:
        out.interrupted = True
        left = expected_trials(p) - counts["TERMINATED"] - counts["ERROR"]
        warnings.append(
            f"interrupted: the search was stopped (Ctrl-C or a stop signal) with {left} trial(s) unfinished or "
            f"not started. {resume_hint(p.train.experiment_path)}"
        )
    out.warnings = warnings
    return out


def _attach_checkpoint(out: Document, result: Any, p: TunePlan) -> None:
    try:
        ckpt = result.get_best_checkpoint(p.train.metric, p.train.metric_mode)
    except Exception:  # noqa: BLE001 - no scored checkpoint: fall back to the latest one
        ckpt = None
    ckpt = ckpt or result.checkpoint
    path = existing_dir(ckpt.path if ckpt is not None else None)
    if path:
        out.checkpoint_path = path
    else:
        out.warnings = [*(out.warnings or []), "the best trial saved no checkpoint"]
