"""The live view on stderr: one compact line per event and per reported epoch, with elapsed time."""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

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

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (Ray Tune snapshots its callbacks): a copy is silent."""
        state = self.__dict__.copy()
        state["stream"] = None
        return state

    @classmethod
    def stderr(cls, quiet: bool) -> ProgressView:
        return cls(None if quiet else sys.stderr)

    def watch(
        self, metric: str, mode: str, total_epochs: int | None = None, unit: str = "epoch", throttle_s: float = 0.0
    ) -> None:
        """Track the best value of ``metric`` in the lines that follow; ``unit`` names an iteration."""
        self.metric, self.mode, self.total_epochs = metric, mode, total_epochs
        self.unit, self.throttle_s = unit, throttle_s

    def event(self, text: str) -> None:
        self._write(text)

    def report(
        self, metrics: dict[str, Any], iteration: int, checkpointed: bool, prefix: str = "", key: str | None = None
    ) -> None:
        """One reported result: iteration, the numeric metrics and the best so far.

        With ``throttle_s`` a fast trainer (a Tune function reporting every few milliseconds) gets at
        most one line per ``key`` in that time, except for a new best value, which is always shown.
        """
        value = metrics.get(self.metric) if self.metric else None
        better = False
        if isinstance(value, int | float) and not math.isnan(value):
            better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
            if better:
                self.best = float(value)
        if key is not None and self.throttle_s > 0:
            now = time.monotonic()
            if not better and now - self._last_line.get(key, -math.inf) < self.throttle_s:
                self.held_back += 1
                return
            self._last_line[key] = now
        counter = next((k for k in _COUNTERS if isinstance(metrics.get(k), int)), None)
        label = f"{counter} {metrics[counter]}" if counter else f"{self.unit} {iteration}"
        of = f"/{self.total_epochs}" if self.total_epochs and counter in (None, "epoch") else ""
        shown = "  ".join(
            f"{k}={_fmt(v)}"
            for k, v in metrics.items()
            if k not in _SKIP and k != counter and isinstance(v, int | float)
        )
        best = f"  (best {self.metric}={_fmt(self.best)})" if self.best is not None else ""
        mark = "  [ckpt]" if checkpointed else ""
        self._write(f"{prefix}{label}{of}  {shown}{best}{mark}")

    def _write(self, text: str) -> None:
        if self.stream is None:
            return
        elapsed = time.monotonic() - self.start
        try:
            self.stream.write(f"[raydt {elapsed:6.1f}s] {text}\n")
            self.stream.flush()
        except (OSError, ValueError):
            self.stream = None


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"
