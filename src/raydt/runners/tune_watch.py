"""Ray Tune callbacks that keep raydt's books on a search. Imports Ray: loaded only for a tune run.

- ``TrialLedger`` records how each trial ended in ``<experiment>/raydt_trials.jsonl``. Ray Tune marks a
  trial cut off by Ctrl-C ``TERMINATED`` like one that ran to its end; only a trial that ended on its own
  (or was stopped by the scheduler or ``stopAt``) passes through ``on_trial_complete``. The ledger is a
  file, not callback state, because a resumed search restores its callbacks from an older snapshot.
- ``SearchStopper`` fails the search at the first result that lacks the spec's metric, with the metrics
  that were reported (Tune's own check raises a ``ValueError`` whose text is a whole result dict), and
  ends it once ``stopAt`` is reached.
"""

from __future__ import annotations

import json
import os
from typing import Any

import ray.tune

from raydt.errors import failure_code
from raydt.tune_results import LEDGER_FILE, TUNE_AUTO_KEYS

METRIC_MARKER = "raydt-metric-not-reported"


class TrialLedger(ray.tune.Callback):  # type: ignore[misc]
    """Appends how each trial ended, and each retry with its cause, to the experiment's ledger file."""

    def __init__(self, experiment_path: str) -> None:
        self.experiment_path = experiment_path

    def setup(self, **_: Any) -> None:
        os.makedirs(self.experiment_path, exist_ok=True)
        open(os.path.join(self.experiment_path, LEDGER_FILE), "a", encoding="utf-8").close()

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **_: Any) -> None:
        self._append({"event": "complete", "trial": trial.trial_id})

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **_: Any) -> None:
        self._append({"event": "error", "trial": trial.trial_id})

    def on_trial_recover(self, iteration: int, trials: list[Any], trial: Any, **_: Any) -> None:
        error = _error_text(trial)
        code = failure_code(RuntimeError(error))
        self._append({"event": "retry", "trial": trial.trial_id, "code": code, "error": error})

    def _append(self, event: dict[str, Any]) -> None:
        with open(os.path.join(self.experiment_path, LEDGER_FILE), "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event) + "\n")


def _error_text(trial: Any) -> str:
    """The last line of the trial's latest error (Tune writes it to the trial's error file)."""
    try:
        error = trial.get_error()
    except Exception:  # noqa: BLE001 - no error file (yet): say what we know
        error = None
    lines = [ln for ln in str(error or "").splitlines() if ln.strip()]
    return (lines[-1] if lines else "unknown error")[:300]


class SearchStopper(ray.tune.Stopper):  # type: ignore[misc]
    """Checks every result for ``metric`` and stops the whole search once ``goal`` (stopAt) is reached.

    A stopper sees each result before the scheduler and the searcher do (Optuna's searcher raises a bare
    KeyError on a result without its metric), so a missing metric ends the search here, at once, with the
    metrics that were reported (Tune's own strict check is turned off for raydt's searches).
    """

    def __init__(self, metric: str, mode: str, goal: float | None) -> None:
        self.metric, self.mode, self.goal = metric, mode, goal
        self.reached = False

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        reported = sorted(k for k in result if k not in TUNE_AUTO_KEYS)
        if reported and self.metric not in result:
            raise RuntimeError(f"{METRIC_MARKER}{json.dumps(reported)}")
        value = result.get(self.metric)
        if self.goal is not None and isinstance(value, int | float):
            if value <= self.goal if self.mode == "min" else value >= self.goal:
                self.reached = True
        return self.reached

    def stop_all(self) -> bool:
        return self.reached


def reported_in(error: BaseException) -> list[str] | None:
    """The metrics listed by ``SearchStopper``'s error inside Tune's wrappers (None: not that error)."""
    text = str(error)
    at = text.find(METRIC_MARKER)
    if at < 0:
        return None
    try:
        found, _ = json.JSONDecoder().raw_decode(text[at + len(METRIC_MARKER) :])
    except ValueError:
        return []
    return [str(k) for k in found] if isinstance(found, list) else []
