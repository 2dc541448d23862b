"""The report's numbers: the outcome at the top (status, best, counts, wall time, resources) and the environment.

Taken from the run's result when the run writes its own report, else from the directory, computed the way
``runners.tune.results`` computes them (the best finite value of the metric among trials that did not fail).
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from raydt.registry import FRAMEWORKS
from raydt.report.load import Experiment, Trial, finite


@dataclass
class Outcome:
    status: str  # success | partial | error | finished | interrupted | unknown (no result: read from the directory)
    best_metric: float | None = None
    best_config: dict[str, Any] | None = None
    best_trial: str | None = None
    best_iteration: int | None = None
    counts: dict[str, int] = field(default_factory=dict)  # trials, completed, stoppedEarly, failed, interrupted
    wall_s: float | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    end_reason: str | None = None


def best_trial(exp: Experiment) -> tuple[Trial, float] | None:
    best: tuple[Trial, float] | None = None
    for trial in exp.trials:
        values = trial.values(exp.metric)
        if trial.status == "ERROR" or not values:
            continue
        value = min(values) if exp.metric_mode == "min" else max(values)
        if best is None or exp.better(value, best[1]):
            best = (trial, value)
    return best


def outcome(exp: Experiment) -> Outcome:
    result = exp.result or {}
    res = result.get("results") or {}
    out = Outcome(str(result.get("status") or _status_from_dir(exp)))
    if result.get("error"):
        out.error = f"{result['error'].get('code')}: {result['error'].get('message')}"
    out.end_reason = res.get("endReason")
    out.resources = _resources(exp)
    if exp.mode == "tune":
        _tune_outcome(exp, out)
    else:
        _train_outcome(exp, out)
    if finite(result.get("trainingTime")):
        out.wall_s = float(result["trainingTime"])
    if finite(res.get("bestMetric")):  # the run's own numbers win (they are what the result printed)
        out.best_metric = float(res["bestMetric"])
        out.best_config = res.get("bestConfig", out.best_config)
        out.best_trial = res.get("bestTrialId", out.best_trial)
    return out


def _status_from_dir(exp: Experiment) -> str:
    if exp.mode == "tune":
        if any(t.status == "INTERRUPTED" for t in exp.trials):
            return "interrupted"
        return "finished" if exp.trials else "unknown"
    return "finished" if any(e.kind == "report" for e in exp.events) else "unknown"


def _tune_outcome(exp: Experiment, out: Outcome) -> None:
    trials = exp.trials
    out.counts = {
        "trials": len(trials),
        "completed": sum(t.status == "TERMINATED" for t in trials),
        "stoppedEarly": sum(t.stopped_early for t in trials),
        "failed": sum(t.status == "ERROR" for t in trials),
        "interrupted": sum(t.status == "INTERRUPTED" for t in trials),
    }
    found = best_trial(exp)
    if found:
        trial, value = found
        out.best_metric, out.best_trial = value, trial.trial_id
        out.best_config = dict(trial.config)
    if trials:
        out.wall_s = round(max(max((r["t"] for r in t.reports), default=0.0) for t in trials), 3)


def _train_outcome(exp: Experiment, out: Outcome) -> None:
    reports = [e for e in exp.events if e.kind == "report"]
    values = [(i, e.metrics[exp.metric]) for i, e in enumerate(reports, 1) if finite(e.metrics.get(exp.metric))]
    if values:
        pick = min if exp.metric_mode == "min" else max
        out.best_iteration, out.best_metric = pick(values, key=lambda iv: iv[1])
    failures = sum(e.kind == "worker_error" for e in exp.events)
    out.counts = {"reports": len(reports), "workerFailures": failures, "checkpointsKept": len(exp.checkpoints)}
    if preempted := sum(e.kind == "preempted" for e in exp.events):
        out.counts["preemptions"] = preempted
    loop = (exp.spec.get("trainConfig") or {}).get("trainLoopConfig")
    out.best_config = (exp.result or {}).get("results", {}).get("bestConfig") or loop
    if exp.events:
        out.wall_s = round(max(e.t for e in exp.events), 3)


def _resources(exp: Experiment) -> dict[str, Any]:
    result = exp.result or {}
    config = exp.spec.get("config") or {}
    out: dict[str, Any] = {
        "workers per run": result.get("numWorkers", config.get("numWorkers", 1)),
        "resources per worker": result.get("resourcesPerWorker", config.get("resourcesPerWorker", {})),
    }
    if exp.mode == "tune":  # the run's result, else the plan its ledger recorded, else the spec's words
        tc, res, plan = exp.spec.get("tuneConfig") or {}, result.get("results") or {}, exp.plan
        cap = plan.get("maxConcurrentTrials", tc.get("maxConcurrentTrials", "auto"))
        out["trials at once"] = result.get("maxConcurrentTrials", cap)
        out["searcher"] = res.get("searchAlgorithm", plan.get("searchAlgorithm", tc.get("searchAlgorithm", "default")))
        out["scheduler"] = res.get("scheduler", plan.get("scheduler", tc.get("scheduler", "default")))
    cluster = result.get("clusterStatus") or {}
    if cluster:
        out["cluster"] = (
            f"{cluster.get('numNodes')} node(s), {cluster.get('totalCpu')} CPU, {cluster.get('totalGpu')} GPU"
        )
    return out


def environment(exp: Experiment) -> dict[str, str]:
    """Versions of what the report was made with, and the cluster the run used (as far as it is known)."""
    from raydt import __version__

    framework = str((exp.spec.get("trainConfig") or {}).get("framework") or "pytorch")
    env = {"raydt": __version__, "python": f"{sys.version.split()[0]} ({platform.machine()})"}
    info = FRAMEWORKS.get(framework)  # its distributions: the report names their installed versions
    for dist in ("ray", *(info.distributions if info else ()), "optuna", "plotly", "matplotlib"):
        try:
            env[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    env["framework"] = framework
    cluster = (exp.result or {}).get("clusterStatus") or {}
    if cluster:
        env["cluster"] = (
            f"{cluster.get('numNodes')} node(s), {cluster.get('totalCpu')} CPU, {cluster.get('totalGpu')} GPU, "
            f"{cluster.get('source') or cluster.get('address') or ''}"
        ).rstrip(", ")
        if cluster.get("rayVersion"):
            env["ray (run)"] = str(cluster["rayVersion"])
    if exp.hosts:
        env["hosts seen"] = ", ".join(exp.hosts[:20])
    return env
