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

from raydt.errors import NodePreemptedError, failure_code
from raydt.experiment import ledger
from raydt.progress import ProgressView
from raydt.runners.tune.results import LEDGER_FILE, TUNE_AUTO_KEYS

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
        postmortem_of(self.experiment_path, trial)

    def on_trial_recover(self, iteration: int, trials: list[Any], trial: Any, **_: Any) -> None:
        code, error = _failure(trial)
        if code != "USER_CODE_ERROR":  # a trainer's exception is re-raised at once, not trained again (NoRepeat)
            self._append({"event": "retry", "trial": trial.trial_id, "code": code, "error": error})
            postmortem_of(self.experiment_path, trial)

    def _append(self, event: dict[str, Any]) -> None:
        ledger.append(self.experiment_path, event)


def postmortem_of(experiment_path: str, trial: Any) -> None:
    """Copy what ``raydt explain`` needs of the trial's failure into the experiment (``experiment.postmortem``):
    its exception with the traceback, and the logs of the process that last reported for it."""
    import traceback

    from raydt.experiment import postmortem
    from raydt.ray_compat import trial_exception

    exc = trial_exception(trial)
    text = "".join(traceback.format_exception(exc)) if exc is not None else "unknown error (no exception recorded)"
    last = getattr(trial, "last_result", None) or {}
    pids = [int(last["pid"])] if isinstance(last.get("pid"), int) else []
    postmortem.record(experiment_path, str(trial.trial_id), text, pids)


def _failure(trial: Any) -> tuple[str, str]:
    """(failure code, one-line text) of the trial's latest failure."""
    from raydt.ray_compat import lost_to_preemption, trial_exception

    exc = trial_exception(trial)
    if exc is None:
        return "UNKNOWN", "unknown error"
    # the trial's process went with a node drained for preemption: Tune retries it without counting it against
    # maxFailuresPerTrial (Trial._handle_ray_actor_error), and raydt lists it as what it was
    code = NodePreemptedError.code if lost_to_preemption(exc) else failure_code(exc)
    inner: BaseException = exc
    for attr in ("cause", "__cause__"):  # Ray's RayTaskError wraps the trainer's own exception
        nxt = getattr(inner, attr, None)
        if isinstance(nxt, BaseException):
            inner = nxt
    lines = [ln for ln in str(inner).splitlines() if ln.strip()]
    text = f"{type(inner).__name__}: {lines[-1] if lines else ''}"[:300]
    return code, text


class SearchStopper(ray.tune.Stopper):  # type: ignore[misc]
    """Checks every result for ``metric`` (and ``also``: more objectives, constrained metrics), stops a trial at
    ``max_iterations`` or a ``trial_stop`` threshold (Ray's stop dict: value >= threshold), and the whole search
    once ``goal`` (stopAt) is reached or ``max_failed`` trials failed (``FailedTrials`` counts them).

    A stopper sees each result before the scheduler and the searcher do (Optuna's searcher raises a bare
    KeyError on a result without its metric), so a missing metric ends the search here, at once, with the
    metrics that were reported (Tune's own strict check is turned off for raydt's searches).
    """

    def __init__(
        self,
        metric: str,
        mode: str,
        goal: float | None,
        experiment_path: str | None = None,
        *,
        also: tuple[str, ...] = (),
        max_iterations: int | None = None,
        trial_stop: dict[str, float] | None = None,
        max_failed: int | None = None,
    ) -> None:
        self.metric, self.mode, self.goal = metric, mode, goal
        self.metrics = (metric, *(m for m in also if m != metric))
        self.max_iterations, self.trial_stop, self.max_failed = max_iterations, dict(trial_stop or {}), max_failed
        self.reached = False
        self.failed = 0
        self.experiment_path = experiment_path  # the goal goes into the ledger: a resumed search reads it there

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        reported = sorted(k for k in result if k not in TUNE_AUTO_KEYS)
        if reported and any(m not in result for m in self.metrics):
            raise RuntimeError(f"{METRIC_MARKER}{json.dumps(reported)}")
        value = result.get(self.metric)
        if self.goal is not None and isinstance(value, int | float):
            if not self.reached and (value <= self.goal if self.mode == "min" else value >= self.goal):
                self.reached = True
                self._note("goal")
        return self.reached or self._trial_done(result)

    def _trial_done(self, result: dict[str, Any]) -> bool:
        if self.max_iterations is not None and result.get("training_iteration", 0) >= self.max_iterations:
            return True
        return any(isinstance(result.get(k), int | float) and result[k] >= v for k, v in self.trial_stop.items())

    def trial_failed(self) -> None:
        """One more trial failed (``FailedTrials``): the search ends once ``max_failed`` did."""
        self.failed += 1
        if self.max_failed is not None and self.failed == self.max_failed:
            self._note("maxFailed")

    def _note(self, event: str) -> None:
        if self.experiment_path:
            ledger.append(self.experiment_path, {"event": event})

    def stop_all(self) -> bool:
        return self.reached or (self.max_failed is not None and self.failed >= self.max_failed)


class FailedTrials(ray.tune.Callback):  # type: ignore[misc]
    """Tells the search's stopper of every failed trial (tuneConfig.maxFailedTrials)."""

    def __init__(self, stopper: SearchStopper) -> None:
        self.stopper = stopper

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **_: Any) -> None:
        self.stopper.trial_failed()


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


PENDING_MARKER = "raydt-pending-timeout"


class PendingWatch(ray.tune.Callback):  # type: ignore[misc]
    """Ends the search when trials wait for resources ``timeout_s`` while none runs (Tune itself waits forever)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.idle_since: float | None = None

    def on_step_begin(self, iteration: int, trials: list[Any], **_: Any) -> None:
        import time

        waiting = any(t.status == "PENDING" for t in trials)
        running = any(t.status == "RUNNING" for t in trials)
        if not waiting or running:
            self.idle_since = None
            return
        now = time.monotonic()
        self.idle_since = self.idle_since or now
        if now - self.idle_since > self.timeout_s:
            raise RuntimeError(f"{PENDING_MARKER}: trials waited {self.timeout_s:g}s for resources, none running")


class ProgressCallback(ray.tune.Callback):  # type: ignore[misc]
    """Feeds the live view: one line per trial result, plus trial errors and completions."""

    def __init__(self, view: Any) -> None:
        self._view = view

    #: The live view of the run in progress: a callback restored from a snapshot (a resumed search) has lost
    #: its own, and Tuner.restore takes no new callbacks; the tune runner sets this before every fit.
    active_view: ProgressView | None = None

    @property
    def view(self) -> ProgressView:
        return ProgressCallback.active_view or self._view or ProgressView()

    def __getstate__(self) -> dict[str, Any]:
        return {"_view": None}

    def on_trial_result(self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any], **_: Any) -> None:
        running = sum(1 for t in trials if t.status == "RUNNING")
        done = sum(1 for t in trials if t.status in ("TERMINATED", "ERROR"))
        metrics = {k: v for k, v in result.items() if k not in TUNE_AUTO_KEYS}
        self.view.report(
            metrics,
            result.get("training_iteration", 0),
            False,
            prefix=f"trial {trial.trial_id} ({done} done, {running} running) ",
            key=trial.trial_id,
            config=trial.config,  # copied only for a new best
        )

    def on_step_end(self, iteration: int, trials: list[Any], **_: Any) -> None:
        self.view.trials(trials)  # the terminal table reads the trials' states when it draws (O(1) here)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **_: Any) -> None:
        self.view.event(f"trial {trial.trial_id} failed: {_failure(trial)[1]}")

    def on_trial_recover(self, iteration: int, trials: list[Any], trial: Any, **_: Any) -> None:
        code, error = _failure(trial)
        if code != "USER_CODE_ERROR":
            self.view.event(f"trial {trial.trial_id} failed and is retried from its last checkpoint: {error}")

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **_: Any) -> None:
        last = trial.last_result or {}
        value = last.get(self.view.metric or "")
        shown = f", {self.view.metric}={value:.4g}" if isinstance(value, int | float) else ""
        count = last.get("training_iteration", 0)
        self.view.event(f"trial {trial.trial_id} finished after {count} {self.view.unit}(s){shown}")
