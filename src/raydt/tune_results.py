"""Ray Tune's ResultGrid -> the seed's result: best trial, its best checkpoint, per-trial rows."""

from __future__ import annotations

import os
from typing import Any

from raydt.errors import MetricNotReportedError, failure_code
from raydt.plan import TunePlan
from raydt.results import ERROR, PARTIAL, SUCCESS, clean_metrics, existing_dir, finite
from raydt.runners.trials import TUNE_AUTO_KEYS


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
    """Tune's status of every trial (RUNNING/PENDING/PAUSED ones were cut short by Ctrl-C)."""
    analysis = getattr(grid, "_experiment_analysis", None)
    return {t.trial_id: t.status for t in getattr(analysis, "trials", None) or []}


def expected_trials(p: TunePlan) -> int:
    """Trials a search that runs to its end creates: numSamples x grid points."""
    from raydt import space

    total = p.num_samples
    for _, value in space.walk(p.search_space):
        if space.is_domain(value) and value["type"] == "grid":
            total *= len(value["values"])
    return total


def summarize(p: TunePlan, grid: Any, elapsed: float, goal_reached: bool = False) -> dict[str, Any]:
    """The result dict of a finished search (success, partial or error).

    A search that ended with unfinished trials, or with fewer trials than it should have created while
    neither ``timeBudgetS`` nor ``stopAt`` ended it, was interrupted (Ctrl-C): Ray Tune returns normally then.
    """
    metric, mode = p.train.metric, p.train.metric_mode
    pick = min if mode == "min" else max
    max_t = p.scheduler_options.get("max_t")
    rows: list[dict[str, Any]] = []
    best: tuple[float, Any, dict[str, Any]] | None = None
    reported: set[str] = set()
    statuses = _trial_statuses(grid)
    for result in grid:
        metrics = result.metrics or {}
        user_metrics = {k: v for k, v in metrics.items() if k not in TUNE_AUTO_KEYS}
        reported |= set(user_metrics)
        iterations = int(metrics.get("training_iteration", 0) or 0)
        values = _history(result, metric)
        trial_id = metrics.get("trial_id") or os.path.basename(result.path or "")
        unfinished = statuses.get(trial_id) in ("RUNNING", "PENDING", "PAUSED")
        row: dict[str, Any] = {
            "trialId": trial_id,
            "config": result.config,
            "status": "ERROR" if result.error else ("INTERRUPTED" if unfinished else "TERMINATED"),
            "iterations": iterations,
            "lastMetrics": clean_metrics(user_metrics),
            "bestMetric": pick(values) if values else None,
        }
        if max_t and row["status"] == "TERMINATED":
            row["stoppedEarly"] = iterations < max_t
        if result.error:
            cls, message = _cause(result.error)
            lines = str(result.error).strip().splitlines()
            row["error"] = {
                "code": failure_code(result.error),
                "class": cls,
                "message": message,
                "traceback": lines[-8:],
            }
        elif not values and metric in user_metrics:
            row["status"] = "ERROR"
            row["error"] = {
                "code": "NAN_METRIC",
                "class": "NaN",
                "message": f"'{metric}' was reported but never as a finite number (the trial diverged)",
                "traceback": [],
            }
        if values and row["status"] != "ERROR":
            value = pick(values)
            if best is None or (value < best[0] if mode == "min" else value > best[0]):
                best = (value, result, row)
        rows.append(row)
    failed = [r for r in rows if r["status"] == "ERROR"]
    interrupted = [r for r in rows if r["status"] == "INTERRUPTED"]
    completed = len(rows) - len(failed) - len(interrupted)
    budget_over = p.time_budget_s is not None and elapsed >= p.time_budget_s * 0.95
    expected = expected_trials(p)
    cut_short = bool(interrupted) or (len(rows) < expected and not budget_over and not goal_reached)
    out: dict[str, Any] = {
        "results": {
            "numTrials": len(rows),
            "completedTrials": completed,
            "failedTrials": len(failed),
            "interruptedTrials": len(interrupted),
            "metric": metric,
            "metricMode": mode,
            "searchAlgorithm": p.searcher,
            "scheduler": p.scheduler,
            "searchChoice": p.choice_reason,
        },
        "trainingTime": round(elapsed, 3),
        "mode": "tune",
        "framework": p.train.framework.name,
        "experimentPath": os.path.join(p.train.storage_path, p.train.name),
        "numWorkers": p.train.workers.num_workers,
        "resourcesPerWorker": p.train.workers.resources,
        "trials": rows,
    }
    resume_hint = f"Continue it with: raydt resume {out['experimentPath']}"
    if cut_short:
        out["interrupted"] = True
        left = expected - completed - len(failed)
        out["warnings"] = [f"interrupted (Ctrl-C): {left} trial(s) unfinished or not started. {resume_hint}"]
    if best is None:
        if cut_short:
            out["status"] = ERROR
            out["error"] = {"code": "INTERRUPTED", "message": "interrupted before any result", "hint": resume_hint}
            return out
        if completed and metric not in reported:
            err = MetricNotReportedError(
                f"metric '{metric}' was never reported by any trial; trials reported: {', '.join(sorted(reported))}",
                hint="Set tuneConfig.metric to one of the reported metrics.",
            )
            err.details = {"experimentPath": out["experimentPath"]}
            raise err
        out["status"] = ERROR
        first = failed[0]["error"] if failed else {"code": "RUN_FAILED", "message": "no trial produced the metric"}
        out["error"] = {
            "code": first["code"],
            "message": f"all {len(rows)} trial(s) failed; first: {first.get('class', '')}: {first['message']}",
            "hint": "See trials[].error for each trial's traceback tail.",
        }
        return out
    value, result, row = best
    out["status"] = PARTIAL if failed or cut_short else SUCCESS
    out["results"].update(
        {
            "bestConfig": result.config,
            "bestMetric": value,
            "bestTrialId": row["trialId"],
            "bestMetrics": _report_with(result, metric, value),
        }
    )
    try:
        ckpt = result.get_best_checkpoint(metric, mode)
    except Exception:  # noqa: BLE001 - no scored checkpoint: fall back to the latest one
        ckpt = None
    ckpt = ckpt or result.checkpoint
    path = existing_dir(ckpt.path if ckpt is not None else None)
    if path:
        out["checkpointPath"] = path
    else:
        out.setdefault("warnings", []).append("the best trial saved no checkpoint")
    return out
