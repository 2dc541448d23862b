"""The interactive figures (Plotly), one function per figure, from ``series``. Imports Plotly: load for a report.

Parallel coordinates are Plotly's ``parcoords`` (drawn with WebGL, as every browser has it); every other figure
is SVG. Learning curves are one trace per way a trial ended, so a 1,000-trial search stays a handful of traces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from raydt.report import series
from raydt.report.load import Experiment

COLORS = {"finished": "#4c78a8", "stopped early": "#f58518", "failed": "#e45756", "interrupted": "#9d755d"}
BEST = "#2ca02c"
LAYOUT: dict[str, Any] = {"template": "plotly_white", "height": 420, "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}


def arr(values: list[float | None] | list[float]) -> Any:
    """A float array (gaps as NaN): Plotly writes arrays base64-encoded, lists as JSON text (about 3x larger)."""
    import numpy as np

    return np.array([np.nan if v is None else v for v in values], dtype=float)


@dataclass
class Figure:
    key: str  # the plot container's id and the PNG's name
    title: str
    figure: go.Figure


def _layout(fig: go.Figure, title: str, x: str, y: str, **more: Any) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, **LAYOUT, **more)
    return fig


def progress(exp: Experiment, data: series.Progress, key: str, x_title: str) -> Figure:
    point = "a report" if key.endswith("time") else "a trial's best"
    fig = go.Figure()
    marker = {"size": 4, "color": "#9ecae9"}
    hover = "trial %{text}: %{y:.5g}"
    x, y = arr(data.x), arr(data.value)
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers", name=point, text=data.label, marker=marker, hovertemplate=hover))
    fig.add_trace(
        go.Scatter(
            x=arr(data.x), y=arr(data.best), mode="lines", name="best so far", line={"shape": "hv", "color": BEST}
        )
    )
    title = f"Best {exp.metric} ({exp.metric_mode}) so far, over {'time' if key.endswith('time') else 'trials'}"
    return Figure(key, title, _layout(fig, title, x_title, exp.metric))


def learning_curves(exp: Experiment) -> Figure:
    fig = go.Figure()
    for name, data in series.curves(exp).items():
        if not data.x:
            continue
        color = COLORS[name]
        x, y = arr(data.x), arr(data.y)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name, text=data.label, connectgaps=False,
                                 line={"width": 1, "color": color}, opacity=0.6,
                                 hovertemplate="trial %{text}, iteration %{x}: %{y:.5g}"))  # fmt: skip
        if data.ends:
            symbol = "x" if name == "failed" else "line-ns-open"
            fig.add_trace(go.Scatter(x=[e[0] for e in data.ends], y=[e[1] for e in data.ends], mode="markers",
                                     name=f"{name}: where it ended", text=[e[2] for e in data.ends],
                                     marker={"symbol": symbol, "size": 10, "color": color, "line": {"width": 2}},
                                     hovertemplate="%{text}: %{y:.5g}"))  # fmt: skip
    title = f"Learning curves: {exp.metric} per iteration of every trial"
    return Figure("learning-curves", title, _layout(fig, title, "iteration", exp.metric))


def parallel(exp: Experiment, keys: list[str], logs: set[str]) -> Figure:
    axes, values = series.parallel(exp, keys, logs)
    dims = []
    for axis in axes:
        dim: dict[str, Any] = {"label": axis.label, "values": arr(axis.values)}
        if axis.ticks is not None:
            dim.update(tickvals=list(range(len(axis.ticks))), ticktext=axis.ticks)
        dims.append(dim)
    scale = "Viridis_r" if exp.metric_mode == "max" else "Viridis"
    line = {"color": values, "colorscale": scale, "showscale": True, "colorbar": {"title": exp.metric}}
    fig = go.Figure(go.Parcoords(line=line, dimensions=dims))
    title = f"Hyperparameters against {exp.metric} (finished trials)"
    fig.update_layout(title=title, **{**LAYOUT, "margin": {"l": 60, "r": 20, "t": 110, "b": 40}})
    return Figure("parallel-coordinates", title, fig)


def importance(exp: Experiment, found: dict[str, float]) -> Figure:
    keys = sorted(found, key=lambda k: found[k])
    fig = go.Figure(go.Bar(x=[found[k] for k in keys], y=keys, orientation="h", marker={"color": "#4c78a8"},
                           text=[f"{found[k]:.2f}" for k in keys], textposition="auto"))  # fmt: skip
    title = f"Hyperparameter importance for {exp.metric} (Optuna fANOVA)"
    return Figure("importance", title, _layout(fig, title, "importance (sums to 1)", ""))


def train_metrics(exp: Experiment) -> Figure:
    fig = go.Figure()
    kept = set(series.kept_reports(exp))
    for name, (x, y) in series.train_metrics(exp).items():
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name))
        marks = [(a, b) for a, b in zip(x, y, strict=True) if a in kept]
        if name == exp.metric and marks:
            star = {"symbol": "star", "size": 14, "color": BEST}
            x_kept, y_kept = [m[0] for m in marks], [m[1] for m in marks]
            fig.add_trace(go.Scatter(x=x_kept, y=y_kept, mode="markers", name="checkpoint kept", marker=star))
    title = "Metrics per report (epoch)"
    return Figure("train-metrics", title, _layout(fig, title, "report (epoch)", "value"))


def train_timeline(exp: Experiment) -> Figure:
    data = series.timeline(exp)
    fig = go.Figure(go.Scatter(x=data["t"], y=data["value"], mode="lines+markers", name=exp.metric))
    for t in data["starts"]:
        fig.add_vline(x=t, line={"color": "#888", "dash": "dot"}, annotation_text="start", annotation_position="top")
    for t, _ in data["failures"]:
        fig.add_vline(x=t, line={"color": COLORS["failed"], "width": 2}, annotation_text="worker failure")
    if data["failures"]:  # hover text of each failure (vlines carry none)
        low = [min(data["value"] or [0])] * len(data["failures"])
        cross = {"symbol": "x", "size": 12, "color": COLORS["failed"]}
        text = [f[1] for f in data["failures"]]
        fig.add_trace(go.Scatter(x=[f[0] for f in data["failures"]], y=low, mode="markers", name="worker failure",
                                 text=text, marker=cross))  # fmt: skip
    title = f"Time line: {exp.metric}, (re)starts and worker failures"
    return Figure("train-timeline", title, _layout(fig, title, "seconds since the first start", exp.metric))
