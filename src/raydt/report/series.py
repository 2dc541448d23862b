"""The data behind each figure, once: the interactive page (Plotly) and the PNGs (Matplotlib) draw the same
series. Plain lists, no plotting library."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from raydt.report.load import Experiment, Trial, finite

#: how a trial's curve is drawn, by how it ended
GROUPS = ("finished", "stopped early", "failed", "interrupted")


def group(trial: Trial) -> str:
    if trial.status == "ERROR":
        return "failed"
    if trial.status == "INTERRUPTED":
        return "interrupted"
    return "stopped early" if trial.stopped_early else "finished"


@dataclass
class Progress:
    """Best so far: each trial's best value at the time (or trial number) it was reached."""

    x: list[float] = field(default_factory=list)
    value: list[float] = field(default_factory=list)  # each point's own value
    best: list[float] = field(default_factory=list)  # the best so far, at that point
    label: list[str] = field(default_factory=list)


def best_over_time(exp: Experiment) -> Progress:
    """Every report of the metric in time order (seconds since the search began), and the best so far."""
    points = sorted(
        (r["t"], r[exp.metric], t.trial_id) for t in exp.trials if t.status != "ERROR" for r in t.reports
        if finite(r.get(exp.metric))
    )  # fmt: skip
    return _progress(exp, points)


def best_over_trials(exp: Experiment) -> Progress:
    """Each trial's best value by trial number, and the best so far."""
    pick = min if exp.metric_mode == "min" else max
    points = [(float(t.number), pick(t.values(exp.metric)), t.trial_id) for t in exp.trials
              if t.status != "ERROR" and t.values(exp.metric)]  # fmt: skip
    return _progress(exp, sorted(points))


def _progress(exp: Experiment, points: list[tuple[float, float, str]]) -> Progress:
    out = Progress()
    best: float | None = None
    for x, value, label in points:
        best = value if best is None or exp.better(value, best) else best
        out.x.append(x)
        out.value.append(value)
        out.best.append(best)
        out.label.append(label)
    return out


@dataclass
class Curves:
    """Learning curves of one group, joined into one line broken by gaps (None): 1,000 trials stay one trace."""

    x: list[float | None] = field(default_factory=list)
    y: list[float | None] = field(default_factory=list)
    label: list[str | None] = field(default_factory=list)
    ends: list[tuple[float, float, str]] = field(default_factory=list)  # (iteration, value, text) of each cut


def curves(exp: Experiment) -> dict[str, Curves]:
    out = {name: Curves() for name in GROUPS}
    for trial in exp.trials:
        points = [(float(r["iteration"]), float(r[exp.metric])) for r in trial.reports if finite(r.get(exp.metric))]
        if not points:
            continue
        g = out[group(trial)]
        for x, y in points:
            g.x.append(x)
            g.y.append(y)
            g.label.append(trial.trial_id)
        g.x.append(None)
        g.y.append(None)
        g.label.append(None)
        if group(trial) == "failed":
            g.ends.append((*points[-1], f"{trial.trial_id}: {trial.error_code or 'ERROR'}"))
        elif group(trial) != "finished":
            g.ends.append((*points[-1], f"{trial.trial_id}: {group(trial)} after {int(points[-1][0])}"))
    return out


@dataclass
class Axis:
    """One axis of the parallel coordinates: numbers (log10 where the key is log-sampled) or category codes."""

    label: str
    values: list[float]
    ticks: list[str] | None = None  # category names, by code


def parallel(exp: Experiment, keys: list[str], logs: set[str]) -> tuple[list[Axis], list[float]]:
    """Axes for the searched keys of every finished trial, then the metric (the line colour)."""
    pick = min if exp.metric_mode == "min" else max
    rows = [(t.config, pick(t.values(exp.metric))) for t in exp.trials if t.status != "ERROR" and t.values(exp.metric)]
    axes = []
    for key in keys:
        column: list[Any] = [config.get(key) for config, _ in rows]
        numbers = [float(v) for v in column if finite(v)]
        if len(numbers) == len(column):
            log = key in logs and all(v > 0 for v in numbers)
            axes.append(Axis(f"{key} (log10)" if log else key, [math.log10(v) if log else v for v in numbers]))
        else:
            names = sorted({repr(v) if not isinstance(v, str) else v for v in column})
            code = {name: i for i, name in enumerate(names)}
            axes.append(Axis(key, [float(code[v if isinstance(v, str) else repr(v)]) for v in column], names))
    values = [value for _, value in rows]
    axes.append(Axis(exp.metric, values))
    return axes, values


def train_metrics(exp: Experiment) -> dict[str, tuple[list[int], list[float]]]:
    """Every numeric metric of a train run per report (1-based), in the order the trainer reported them."""
    reports = [e for e in exp.events if e.kind == "report"]
    out: dict[str, tuple[list[int], list[float]]] = {}
    for n, event in enumerate(reports, start=1):
        for key, value in event.metrics.items():
            if finite(value) and key not in ("epoch", "iteration", "step"):
                out.setdefault(key, ([], []))
                out[key][0].append(n)
                out[key][1].append(float(value))
    return out


def kept_reports(exp: Experiment) -> list[int]:
    """Report numbers (1-based) whose checkpoint Ray Train still keeps."""
    kept = {c["path"] for c in exp.checkpoints} | {c["name"] for c in exp.checkpoints}
    reports = [e for e in exp.events if e.kind == "report"]
    return [
        n for n, e in enumerate(reports, 1) if e.checkpoint and (e.checkpoint in kept or _tail(e.checkpoint) in kept)
    ]


def _tail(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def timeline(exp: Experiment) -> dict[str, Any]:
    """A train run in time: the metric at each report, each (re)start and each worker failure."""
    reports = [e for e in exp.events if e.kind == "report" and finite(e.metrics.get(exp.metric))]
    return {
        "t": [e.t for e in reports],
        "value": [float(e.metrics[exp.metric]) for e in reports],
        "starts": [e.t for e in exp.events if e.kind == "start"],
        "failures": [(e.t, e.error or "") for e in exp.events if e.kind in ("worker_error", "preempted")],
    }
