"""One PNG per figure (Matplotlib, Agg: no display, no browser), from the same ``series`` as the page.

Every PNG is ``WIDTH x HEIGHT`` pixels, so an artifact store or a pull request shows them alike.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen

from raydt.report import series  # noqa: E402
from raydt.report.figures import BEST, COLORS  # noqa: E402
from raydt.report.load import Experiment  # noqa: E402

WIDTH, HEIGHT, DPI = 1000, 500, 100


def save(path: Path, title: str, draw: Callable[[Any], None]) -> Path:
    fig, ax = plt.subplots(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    try:
        draw(ax)
        ax.set_title(title, fontsize=11)
        fig.tight_layout()
        fig.savefig(path, dpi=DPI)
    finally:
        plt.close(fig)
    return path


def progress(exp: Experiment, data: series.Progress, x_title: str) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        ax.scatter(data.x, data.value, s=6, color="#9ecae9", label="reported")
        ax.step(data.x, data.best, where="post", color=BEST, label="best so far")
        ax.set_xlabel(x_title)
        ax.set_ylabel(exp.metric)
        ax.legend(loc="best", fontsize=8)

    return draw


def learning_curves(exp: Experiment) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        for name, data in series.curves(exp).items():
            if not data.x:
                continue
            x = [float("nan") if v is None else v for v in data.x]
            y = [float("nan") if v is None else v for v in data.y]
            ax.plot(x, y, color=COLORS[name], linewidth=0.8, alpha=0.6, label=name)
            if data.ends:
                marker = "x" if name == "failed" else "|"
                ax.scatter(
                    [e[0] for e in data.ends], [e[1] for e in data.ends], marker=marker, s=50, color=COLORS[name]
                )
        ax.set_xlabel("iteration")
        ax.set_ylabel(exp.metric)
        ax.legend(loc="best", fontsize=8)

    return draw


def parallel(exp: Experiment, keys: list[str], logs: set[str]) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        axes, values = series.parallel(exp, keys, logs)
        spans = [(min(a.values), max(a.values)) for a in axes]
        norm = [
            [(v - lo) / (hi - lo) if hi > lo else 0.5 for v in a.values]
            for a, (lo, hi) in zip(axes, spans, strict=True)
        ]
        lo, hi = min(values), max(values)
        cmap = plt.get_cmap("viridis" if exp.metric_mode == "min" else "viridis_r")
        for i, value in enumerate(values):
            shade = cmap((value - lo) / (hi - lo) if hi > lo else 0.5)
            ax.plot(range(len(axes)), [col[i] for col in norm], color=shade, linewidth=0.7, alpha=0.7)
        ax.set_xticks(range(len(axes)), [a.label for a in axes], fontsize=8)
        ax.set_yticks([0, 1], ["low", "high"])
        for x in range(len(axes)):
            ax.axvline(x, color="#444", linewidth=0.8)

    return draw


def importance(found: dict[str, float]) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        keys = sorted(found, key=lambda k: found[k])
        ax.barh(keys, [found[k] for k in keys], color="#4c78a8")
        ax.set_xlabel("importance (sums to 1)")

    return draw


def train_metrics(exp: Experiment) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        kept = set(series.kept_reports(exp))
        for name, (x, y) in series.train_metrics(exp).items():
            ax.plot(x, y, marker="o", markersize=3, label=name)
            if name == exp.metric:
                marks = [(a, b) for a, b in zip(x, y, strict=True) if a in kept]
                ax.scatter([m[0] for m in marks], [m[1] for m in marks], marker="*", s=150, color=BEST, zorder=3)
        ax.set_xlabel("report (epoch)")
        ax.legend(loc="best", fontsize=8)

    return draw


def train_timeline(exp: Experiment) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        data = series.timeline(exp)
        ax.plot(data["t"], data["value"], marker="o", markersize=3, label=exp.metric)
        for t in data["starts"]:
            ax.axvline(t, color="#888", linestyle=":")
        for t, _ in data["failures"]:
            ax.axvline(t, color=COLORS["failed"], linewidth=2)
        ax.set_xlabel("seconds since the first start (dotted: start, red: worker failure)")
        ax.set_ylabel(exp.metric)

    return draw
