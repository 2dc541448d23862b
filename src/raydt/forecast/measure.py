"""Times measured in an experiment folder (a probe's, or an earlier run of the same experiment), and the
wall-time arithmetic of a plan. Reads files only; no Ray.

A trial's per-iteration time is the mean of its later iterations (Tune's ``time_this_iter_s``; a train run's
ledger times between reports); its start-up is how much longer its first iteration took. A run's start-up (Ray,
the driver, the first trial's actors) is its measured wall time less the trials' own time: the probe's wall time,
or the ``ran`` event every run leaves in its ledger (``runners.skeleton``).

    waves     = ceil(numTrials / trialsAtOnce)
    wallTimeS = startup + waves x (trialStartup + iterations x perIteration)      (the high end)
    lowS      = startup + trialStartup + waves x iterations x perIteration        (trials start warm after the first)

A scheduler that stops trials early (ASHA, ...) ends sooner: the estimate ignores it, and says so.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raydt.experiment.ledger import LEDGER_FILE, RAN_EVENT, TRAIN_LEDGER
from raydt.experiment.ledger import json_lines as _lines


@dataclass(frozen=True)
class Measured:
    per_iteration_s: float
    trial_startup_s: float
    iterations: float  # iterations a measured trial ran (mean)
    startup_s: float | None  # None: the run's own start-up was not measured


def waves(trials: int, at_once: int) -> int:
    return math.ceil(trials / max(at_once, 1))


def estimate(m: Measured, trials: int, at_once: int, iterations: int | None) -> dict[str, Any]:
    """``plan.estimate``'s figures (camelCase) for ``trials`` run ``at_once``; ``iterations`` None: as measured."""
    n = float(iterations) if iterations is not None else m.iterations
    w = waves(trials, at_once)
    startup = m.startup_s or 0.0
    high = startup + w * (m.trial_startup_s + n * m.per_iteration_s)
    low = startup + m.trial_startup_s + w * n * m.per_iteration_s
    return {
        "wallTimeS": round(high, 1),
        "lowS": round(low, 1),
        "highS": round(high, 1),
        "waves": w,
        "startupS": round(startup, 2),
        "trialStartupS": round(m.trial_startup_s, 2),
        "perIterationS": round(m.per_iteration_s, 3),
    }


def from_folder(path: str | Path, wall_s: float | None = None) -> Measured | None:
    """What ``path`` (an experiment folder) measured; ``wall_s``: the run's wall time when the caller measured it
    (a probe), else the last ``ran`` event's. None: nothing was reported there."""
    folder = Path(path)
    trials = [_trial_times(rows) for rows in _tune_rows(folder)] or [_train_times(folder)]
    found = [t for t in trials if t is not None]
    if not found:
        return None
    per_iter = statistics.median(t[0] for t in found)
    trial_startup = statistics.median(t[1] for t in found)
    iters = statistics.mean(t[2] for t in found)
    ran = _last_ran(folder)
    if wall_s is None and ran is not None:
        wall_s = float(ran["wallTimeS"])
        done = waves(int(ran.get("numTrials") or 1), int(ran.get("trialsAtOnce") or 1))
    else:
        done = 1
    startup = None if wall_s is None else max(0.0, wall_s - done * (trial_startup + iters * per_iter))
    return Measured(per_iter, trial_startup, iters, startup)


def _tune_rows(folder: Path) -> list[list[dict[str, Any]]]:
    return [rows for f in sorted(folder.glob("trial_*/result.json")) if (rows := _lines(f))]


def _trial_times(rows: list[dict[str, Any]]) -> tuple[float, float, float] | None:
    """(per-iteration s, start-up s, iterations) of one Tune trial's reports."""
    steps = [float(r["time_this_iter_s"]) for r in rows if isinstance(r.get("time_this_iter_s"), int | float)]
    return _split(steps)


def _train_times(folder: Path) -> tuple[float, float, float] | None:
    """The same, from a train run's ledger: the last start, then each report's time."""
    rows = _lines(folder / TRAIN_LEDGER)
    starts = [i for i, r in enumerate(rows) if r.get("event") == "start"]
    rows = rows[starts[-1] :] if starts else rows
    times = [float(r["time"]) for r in rows if r.get("event") in ("start", "report") and "time" in r]
    if not starts or len(times) < 2:
        return None
    return _split([b - a for a, b in zip(times, times[1:], strict=False)])


def _split(steps: list[float]) -> tuple[float, float, float] | None:
    if not steps:
        return None
    per_iter = statistics.mean(steps[1:]) if len(steps) > 1 else steps[0]
    return per_iter, max(0.0, steps[0] - per_iter), float(len(steps))


def _last_ran(folder: Path) -> dict[str, Any] | None:
    rows = [r for name in (LEDGER_FILE, TRAIN_LEDGER) for r in _lines(folder / name) if r.get("event") == RAN_EVENT]
    return rows[-1] if rows and isinstance(rows[-1].get("wallTimeS"), int | float) else None
