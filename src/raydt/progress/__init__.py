"""The live view on stderr: one compact line per event and per reported epoch, with elapsed time.

On a terminal (``ProgressView.open``) the same calls feed a table that redraws in place instead
(``raydt.progress.table``); anywhere else (CI, an agent, a pipe, a file) the view stays this line log.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from raydt.progress.table import LiveTable

#: Told each new best value (``ProgressView.on_best``): the report's metrics, its key (a trial) and config (a trial's)
BestListener = Callable[[dict[str, Any], str | None, dict[str, Any] | None], None]

_SKIP = {"training_iteration", "timestamp", "checkpoint_dir_name", "time_total_s"}
#: keys a trainer counts its iterations with, in the order the view prefers them
_COUNTERS = ("epoch", "round", "step", "iteration")


class ProgressView:
    """Writes progress lines to ``stream`` (None: silent)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.start = time.monotonic()
        self.metric: str | None = None
        self.mode = "min"
        self.best: float | None = None
        self.total_epochs: int | None = None
        self.unit = "epoch"  # what one report is called when the metrics carry no counter of their own
        self.throttle_s = 0.0  # > 0: at most one line per key (trial) in this many seconds, new bests aside
        self._last_line: dict[str, float] = {}
        self.held_back = 0  # report lines the throttle left out
        self.table: LiveTable | None = None  # the terminal's table (``open``); None: the line log
        self.run_name: str | None = None  # the experiment's name, once the run knows it
        self.on_best: BestListener | None = None  # runConfig.notify's newBest (``tracking.notify``)

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (Ray Tune snapshots its callbacks): a copy is silent."""
        state = self.__dict__.copy()
        state["stream"] = None
        state["table"] = None
        state["on_best"] = None
        return state

    @classmethod
    def stderr(cls, quiet: bool) -> ProgressView:
        return cls(None if quiet else sys.stderr)

    @classmethod
    def open(cls, stream: TextIO | None) -> ProgressView:
        """The CLI's view: a table redrawn in place when ``stream`` is a terminal, else the line log.

        The caller must ``finish()`` it (in a ``finally``): that stops the redrawing and gives the terminal back.
        """
        view = cls(stream)
        if stream is not None and is_terminal(stream):
            from raydt.progress.table import LiveTable

            view.table = LiveTable(stream, view.start)
        return view

    def watch(
        self,
        metric: str,
        mode: str,
        total_epochs: int | None = None,
        unit: str = "epoch",
        throttle_s: float = 0.0,
        total_trials: int | None = None,
        budget_s: float | None = None,
    ) -> None:
        """Track the best value of ``metric`` in the lines that follow; ``unit`` names an iteration.

        ``total_trials`` and ``budget_s`` (a search's numSamples and timeBudgetS) give the table its ETA.
        """
        self.metric, self.mode, self.total_epochs = metric, mode, total_epochs
        self.unit, self.throttle_s = unit, throttle_s
        if self.table is not None:
            self.table.watch(metric, unit, total_epochs, total_trials, budget_s)  # the best is kept here

    def trials(self, trials: Sequence[Any]) -> None:
        """A search's trials (objects with ``trial_id`` and ``status``, e.g. Tune's own list): the table reads
        their states when it draws; the line log has no use for them."""
        if self.table is not None:
            self.table.board.trials = trials

    def event(self, text: str) -> None:
        if self.table is not None:
            self.table.line(self._stamp(text))
            return
        self._write(text)

    def report(
        self,
        metrics: dict[str, Any],
        iteration: int,
        checkpointed: bool,
        prefix: str = "",
        key: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        """One reported result: iteration, the numeric metrics and the best so far (``config``: a trial's).

        With ``throttle_s`` a fast trainer (a Tune function reporting every few milliseconds) gets at
        most one line per ``key`` in that time, except for a new best value, which is always shown.
        """
        value = metrics.get(self.metric) if self.metric else None
        better = False
        if isinstance(value, int | float) and not math.isnan(value):
            better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
            if better:
                self.best = float(value)
                self._tell_best(metrics, key, config)
        if self.table is not None:  # the table keeps the latest numbers; it draws them at its own pace
            counter, shown = _numbers(metrics)
            count = metrics[counter] if counter else iteration
            self.table.report(key, counter or self.unit, count, shown, checkpointed, self.best if better else None)
            return
        if key is not None and self.throttle_s > 0:
            now = time.monotonic()
            if not better and now - self._last_line.get(key, -math.inf) < self.throttle_s:
                self.held_back += 1
                return
            self._last_line[key] = now
        counter, shown = _numbers(metrics)
        label = f"{counter} {metrics[counter]}" if counter else f"{self.unit} {iteration}"
        of = f"/{self.total_epochs}" if self.total_epochs and counter in (None, "epoch") else ""
        numbers = "  ".join(f"{k}={_fmt(v)}" for k, v in shown.items())
        best = f"  (best {self.metric}={_fmt(self.best)})" if self.best is not None else ""
        mark = "  [ckpt]" if checkpointed else ""
        self._write(f"{prefix}{label}{of}  {numbers}{best}{mark}")

    def _tell_best(self, metrics: dict[str, Any], key: str | None, config: dict[str, Any] | None) -> None:
        if self.on_best is None:
            return
        try:
            self.on_best(metrics, key, config)
        except Exception as exc:  # noqa: BLE001 - a listener must never break the view, or the run it reports
            self.event(f"new best not passed on: {type(exc).__name__}: {exc}")

    def finish(self) -> None:
        """Stop redrawing the table and leave its last state on the terminal; later events print as lines.
        Idempotent, and a no-op for the line log."""
        if self.table is not None:
            self.table.stop()

    def _stamp(self, text: str) -> str:
        return f"[raydt {time.monotonic() - self.start:6.1f}s] {text}"

    def _write(self, text: str) -> None:
        if self.stream is None:
            return
        try:
            self.stream.write(self._stamp(text) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            self.stream = None


def _numbers(metrics: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The trainer's own iteration counter (None: it has none), and the other numeric metrics to show."""
    counter = next((k for k in _COUNTERS if isinstance(metrics.get(k), int)), None)
    return counter, {k: v for k, v in metrics.items() if k not in _SKIP and k != counter and isinstance(v, int | float)}


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal that can redraw in place (not ``TERM=dumb``, not a closed stream)."""
    if os.environ.get("TERM", "") in ("dumb", "unknown"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"
