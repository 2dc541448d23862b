"""The live view on a terminal: one compact table that rich's ``Live`` redraws in place.

``ProgressView`` feeds the numbers (``report``, ``watch``, a search's trial list) into a ``Board``; the
drawing happens on rich's refresh thread, at most ``REFRESH_PER_S`` times a second, so a driver's polling
loop pays a dict update per report and nothing more. Events print as lines above the table. Only loaded
when stderr is a terminal: a pipe, a file or ``TERM=dumb`` get the line log of ``raydt.progress``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

REFRESH_PER_S = 4
#: Tune's trial states as the table names them, in the order it lists them
STATES = {"RUNNING": "running", "PENDING": "pending", "PAUSED": "paused", "TERMINATED": "done", "ERROR": "failed"}
_STYLE = {"running": "cyan", "pending": "yellow", "paused": "magenta", "done": "green", "failed": "red"}
_MAX_METRIC_COLUMNS = 4  # besides the watched metric: the table stays compact


@dataclass
class Row:
    """The latest report of one trial (key) or of the train run (key None)."""

    count: int
    metrics: dict[str, Any]
    at: float
    counter: str = "epoch"  # what ``count`` counts: the trainer's own key, else the framework's unit


@dataclass
class Board:
    """What the table shows. Written by the driver's threads, read by the refresh thread under ``lock``."""

    start: float
    metric: str | None = None
    unit: str = "epoch"
    total_epochs: int | None = None
    total_trials: int | None = None
    budget_s: float | None = None
    watched_at: float | None = None
    best: float | None = None
    best_key: str | None = None
    checkpoints: int = 0
    rows: dict[str | None, Row] = field(default_factory=dict)
    trials: Sequence[Any] | None = None  # a search's trials (trial_id, status), read when drawing
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Live(Live):
    """rich's Live, except that a terminal gone away (closed, hung up) stops the redrawing quietly."""

    def refresh(self) -> None:
        try:
            super().refresh()
        except (OSError, ValueError):
            if self._refresh_thread is not None:
                self._refresh_thread.stop()


class LiveTable:
    """Draws a ``Board`` on ``stream`` (a terminal) with rich; ``stop`` leaves the last frame in place."""

    def __init__(self, stream: TextIO, start: float) -> None:
        # colours follow NO_COLOR (rich reads it); the size is the stream's own terminal (fds 1 and 2 may be a log)
        self.console = Console(file=stream, force_terminal=True, highlight=False, emoji=False)
        self.board = Board(start)
        self._fd = _fileno(stream)
        self._live: Live | None = None
        self._stopped = False
        self._fit()

    def watch(
        self,
        metric: str,
        unit: str,
        total_epochs: int | None,
        total_trials: int | None,
        budget_s: float | None,
    ) -> None:
        b = self.board
        with b.lock:
            b.metric, b.unit, b.total_epochs = metric, unit, total_epochs
            b.total_trials, b.budget_s, b.watched_at = total_trials, budget_s, time.monotonic()
        if self._live is None and not self._stopped:
            self._live = _Live(
                console=self.console,
                get_renderable=self._render,
                refresh_per_second=REFRESH_PER_S,
                transient=False,
                redirect_stdout=False,  # fds 1 and 2 go to the run's log: Ray's output must stay there
                redirect_stderr=False,
            )
            self._guard(lambda: self._live.start(refresh=True) if self._live else None)

    def report(
        self, key: str | None, counter: str, count: int, metrics: dict[str, Any], checkpointed: bool, best: float | None
    ) -> None:
        """The latest numbers of ``key`` (a trial; None: the train run); ``best``: a new best value, or None."""
        b = self.board
        with b.lock:
            b.rows[key] = Row(count, metrics, time.monotonic(), counter)
            b.checkpoints += int(checkpointed)
            if best is not None:
                b.best, b.best_key = best, key

    def line(self, text: str) -> None:
        """One event, printed above the table (its ``[raydt 12.3s]`` stamp dimmed)."""
        stamp, sep, rest = text.partition("] ")
        shown = Text.assemble((stamp + sep, "dim"), rest) if sep else Text(text)
        self._guard(lambda: self.console.print(shown))

    def stop(self) -> None:
        """Draw the final frame and stop redrawing (idempotent); the cursor comes back."""
        self._stopped = True
        live, self._live = self._live, None
        if live is not None:
            self._guard(live.stop)

    def _guard(self, action: Any) -> None:
        """Run a terminal write; a terminal that went away ends the table, never the run."""
        try:
            action()
        except (OSError, ValueError):
            self._stopped = True
            self._live = None

    def _render(self) -> RenderableType:
        self._fit()
        return render(self.board, time.monotonic(), self.console.size.height)

    def _fit(self) -> None:
        """Follow the size of the stream's own terminal (rich would ask fds 0-2, which the CLI sends to a log)."""
        if self._fd is not None:
            try:
                size = os.get_terminal_size(self._fd)
            except OSError:
                return
            if size.columns and size.lines:  # a terminal that never told its size says 0 x 0
                self.console.size = size


def render(b: Board, now: float, height: int = 40) -> RenderableType:
    """The table for the board's state at ``now``: a search's trials, or a train run's epochs."""
    with b.lock:
        rows = dict(b.rows)
        best, best_key, checkpoints = b.best, b.best_key, b.checkpoints
    statuses = {str(t.trial_id): str(t.status) for t in list(b.trials or ())}
    for key in rows:
        if key is not None:
            statuses.setdefault(key, "RUNNING")  # reported, not yet in the trial list we were given
    best_text = _best(b, best, best_key)
    if statuses or b.total_trials is not None:
        return _search(b, now, rows, statuses, best_text, max(3, height - 12))
    return _train(b, now, rows.get(None), checkpoints, best_text)


def _search(
    b: Board, now: float, rows: dict[str | None, Row], statuses: dict[str, str], best: Text, max_rows: int
) -> RenderableType:
    counts = dict.fromkeys(STATES.values(), 0)
    for status in statuses.values():
        counts[STATES.get(status, "running")] += 1
    if b.total_trials:
        counts["pending"] += max(0, b.total_trials - len(statuses))  # not created yet
    ended = counts["done"] + counts["failed"]
    total = b.total_trials or len(statuses)
    eta = _search_eta(b, now, ended, total)
    summary = Text("  ").join(Text(f"{name} {n}", style=_STYLE[name] if n else "dim") for name, n in counts.items())
    order = sorted(statuses, key=lambda k: (statuses[k] != "RUNNING", -(rows[k].at if k in rows else 0.0)))
    table = _trial_table(b, order[:max_rows], rows, statuses, len(order) - max_rows)
    bar = _bar("trials", ended, total)
    return Group(_header(b, "tune", now, eta), bar, summary, best, table)


def _trial_table(b: Board, keys: list[str], rows: dict[str | None, Row], statuses: dict[str, str], more: int) -> Table:
    names = _metric_names(b, [rows[k] for k in keys if k in rows])
    table = Table(box=None, header_style="bold", pad_edge=False, expand=False)
    counter = next((rows[k].counter for k in keys if k in rows), b.unit)
    for title in ("trial", "state", counter, *names):
        table.add_column(title, justify="left" if title in ("trial", "state") else "right", no_wrap=True)
    for key in keys:
        state = STATES.get(statuses[key], "running")
        row = rows.get(key)
        cells = [fmt(row.metrics[n]) if row and n in row.metrics else "" for n in names]
        table.add_row(key, Text(state, style=_STYLE[state]), str(row.count) if row else "", *cells)
    if more > 0:
        table.add_row(Text(f"... {more} more", style="dim"))
    return table


def _train(b: Board, now: float, row: Row | None, checkpoints: int, best: Text) -> RenderableType:
    count = row.count if row else 0
    eta = None
    if b.total_epochs and count and b.watched_at is not None:
        eta = (now - b.watched_at) / count * max(0, b.total_epochs - count)
    counter = row.counter if row else b.unit
    parts: list[RenderableType] = [_header(b, "train", now, eta), _bar(counter, count, b.total_epochs)]
    if row is None:
        parts.append(Text("waiting for the first report ...", style="dim"))
        return Group(*parts)
    names = _metric_names(b, [row])
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in names:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_row(*(fmt(row.metrics[n]) for n in names))
    best.append(f"   checkpoints {checkpoints}", style="dim")
    return Group(*parts, table, best)


def _header(b: Board, kind: str, now: float, eta: float | None) -> Text:
    text = Text.assemble((f"raydt {kind}", "bold"), f"   elapsed {_duration(now - b.start)}")
    text.append(f"   ETA {_duration(eta)}" if eta is not None else "   ETA -")
    return text


def _bar(unit: str, done: int, total: int | None) -> RenderableType:
    grid = Table.grid(padding=(0, 1))
    grid.add_row(
        unit,
        ProgressBar(total=float(total or 1), completed=float(done if total else 0), width=40),
        f"{done}/{total}" if total else str(done),
    )
    return grid


def _best(b: Board, best: float | None, key: str | None) -> Text:
    if b.metric is None or best is None:
        return Text(f"best {b.metric or 'metric'}: none yet", style="dim")
    where = f" (trial {key})" if key else ""
    return Text.assemble(f"best {b.metric} = ", (fmt(best), "bold green"), where)


def _metric_names(b: Board, rows: list[Row]) -> list[str]:
    """The watched metric first, then the first few other numeric metrics the rows carry."""
    names: list[str] = [b.metric] if b.metric and any(b.metric in r.metrics for r in rows) else []
    for row in rows:
        for name in row.metrics:
            if name not in names and len(names) <= _MAX_METRIC_COLUMNS:
                names.append(name)
    return names


def _search_eta(b: Board, now: float, ended: int, total: int) -> float | None:
    """The sooner of: the trials left at the pace trials have ended so far, and the time budget left."""
    since = now - (b.watched_at if b.watched_at is not None else b.start)
    guesses = []
    if total and ended:
        guesses.append(since / ended * max(0, total - ended))
    if b.budget_s:
        guesses.append(max(0.0, b.budget_s - since))
    return min(guesses) if guesses else None


def _duration(seconds: float) -> str:
    s = int(max(0.0, seconds))
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


def fmt(value: Any) -> str:
    """A metric as the line log shows it: floats to 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _fileno(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, ValueError, OSError):
        return None
