"""``raydt report``: an experiment directory -> one self-contained HTML file and one PNG per figure.

Plotly, Matplotlib and Optuna are imported here only (the ``report`` extra); a missing one is a
``MissingDependencyError`` that names the extra.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raydt.errors import MissingDependencyError, SpecFileError
from raydt.experiment import REPORT_DIR, REPORT_FILE  # noqa: E402
from raydt.report import importance, series
from raydt.report.load import Experiment, read
from raydt.report.summary import environment, outcome
from raydt.state import write_text_atomic


@dataclass
class Written:
    """What a report wrote: the HTML file, the PNGs, and what it could not draw."""

    html: Path
    figures: list[Path]
    mode: str
    experiment: Path
    seconds: float
    notes: list[str] = field(default_factory=list)


def target(experiment_dir: Path, out: str | Path | None) -> Path:
    """The HTML file: ``out`` (a file ending in .html, or a folder), else ``<experiment>/report/report.html``."""
    if out is None:
        return experiment_dir / REPORT_DIR / REPORT_FILE
    path = Path(out).expanduser().resolve()
    return path if path.suffix.lower() in (".html", ".htm") else path / REPORT_FILE


def write(experiment_dir: str | Path, out: str | Path | None = None, result: dict[str, Any] | None = None) -> Written:
    """Write the report of ``experiment_dir``; ``result``: the run's own result document, when the run writes it."""
    start = time.perf_counter()
    try:
        from raydt.report import figures, pngs
    except ImportError as exc:
        raise MissingDependencyError(
            f"raydt report needs Plotly and Matplotlib: {exc}",
            hint="pip install 'ray-distributed-trainer[report]'",
        ) from None
    exp = read(experiment_dir, result)
    html = target(exp.path, out)
    try:
        html.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecFileError(f"cannot create the report folder {html.parent}: {exc.strerror or exc}",
                            hint="Pass --out a folder you can write.") from None  # fmt: skip
    drawn, notes = _figures(exp, figures, pngs)
    pngs_written = []
    for figure, draw in drawn:
        png = html.parent / f"{html.stem}-{figure.key}.png"
        pngs_written.append(pngs.save(png, figure.title, draw))
    from raydt.report import page, usage

    text = page.render(exp, outcome(exp), [f for f, _ in drawn], notes, environment(exp), usage.panel(exp))
    write_text_atomic(html, text)
    return Written(html, pngs_written, exp.mode, exp.path, round(time.perf_counter() - start, 3), notes)


def _figures(exp: Experiment, figures: Any, pngs: Any) -> tuple[list[tuple[Any, Any]], list[str]]:
    """(plotly figure, PNG drawer) pairs for the experiment's mode, and notes on figures left out."""
    notes: list[str] = []
    if exp.mode == "train":
        if not series.train_metrics(exp):
            return [], ["no report was recorded: nothing to draw"]
        return [(figures.train_metrics(exp), pngs.train_metrics(exp)),
                (figures.train_timeline(exp), pngs.train_timeline(exp))], notes  # fmt: skip
    if not any(t.values(exp.metric) for t in exp.trials):
        return [], [f"no trial reported '{exp.metric}': nothing to draw"]
    over_time, over_trials = series.best_over_time(exp), series.best_over_trials(exp)
    out = [
        (figures.progress(exp, over_time, "best-over-time", "seconds since the search began"),
         pngs.progress(exp, over_time, "seconds since the search began")),
        (figures.progress(exp, over_trials, "best-over-trials", "trial number"),
         pngs.progress(exp, over_trials, "trial number")),
        (figures.learning_curves(exp), pngs.learning_curves(exp)),
    ]  # fmt: skip
    keys = importance.searched_keys(exp, importance.finished(exp))
    logs = importance.log_keys(exp.spec)
    if keys:
        out.append((figures.parallel(exp, keys, logs), pngs.parallel(exp, keys, logs)))
    found, why = importance.importances(exp)
    if found:
        out.append((figures.importance(exp, found), pngs.importance(found)))
    if why:
        notes.append(f"hyperparameter importance{':' if found else ' left out:'} {why}")
    return out, notes
