"""Experiment tracking: ``runConfig.tracking.mlflow`` (MLflow), logged by raydt itself.

Ray's MLflow callbacks are Tune callbacks that Ray Train V2's RunConfig refuses (ray-project/ray#64179), so
raydt logs from the driver, from what it already collects: a train run's reports as the relay brings them
(``train.TrainTracker``), a search's trials through a Tune callback (``tune.TuneTracker``). Every MLflow call
runs on one background thread (``sink.Sink``): a slow or dead server never stalls or fails the training, and
what could not be logged becomes a warning in the result.

    preflight.check(plan)     before Ray starts: MLflow installed, URI understood, server reachable
    train.TrainTracker        mode train: one run (params, metrics per step, checkpoint, spec, result, model)
    tune.TuneTracker          mode tune: a parent run, one nested run per trial, the best one tagged
    models.fetch(uri, ...)    mode serve: models:/NAME@alias downloaded to a local checkpoint directory
    notify                    runConfig.notify: finished / failed / newBest messages through Apprise

This module imports neither MLflow nor Ray: ``raydt validate`` and ``raydt schema`` stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the plan imports this module: its types only for the checker
    from raydt.plan import TrainPlan, TunePlan
    from raydt.progress import ProgressView
    from raydt.tracking.base import Tracker

#: The MLflow run ids (a resumed run logs into the same runs) and the local store used when neither trackingUri
#: nor MLFLOW_TRACKING_URI is given: files of the experiment folder (``raydt.experiment``).
from raydt.experiment import MLFLOW_ARTIFACTS as LOCAL_ARTIFACTS  # noqa: E402
from raydt.experiment import MLFLOW_DB as LOCAL_DB  # noqa: E402
from raydt.experiment import MLFLOW_STATE_FILE as STATE_FILE  # noqa: E402

__all__ = [
    "LOCAL_ARTIFACTS",
    "LOCAL_DB",
    "STATE_FILE",
    "check",
    "failed",
    "finish",
    "start",
]


def check(p: TrainPlan) -> None:
    """Preflight, before Ray starts: raise when ``runConfig.tracking`` cannot work (does nothing without it)."""
    if p.tracking is not None:
        from raydt.tracking import preflight

        preflight.check(p)


def start(p: TrainPlan | TunePlan, view: ProgressView) -> Tracker | None:
    """Open the MLflow run(s) of a train run or a search (None without ``runConfig.tracking``)."""
    from raydt.plan import TunePlan

    if (p.train if isinstance(p, TunePlan) else p).tracking is None:
        return None
    tracker: Tracker
    if isinstance(p, TunePlan):
        from raydt.tracking.tune import TuneTracker

        tracker = TuneTracker(p)
    else:
        from raydt.tracking.train import TrainTracker

        tracker = TrainTracker(p)
    tracker.start()
    where = f"run {tracker.run_id}" if tracker.run_id else "no run: " + "; ".join(tracker.sink.warnings())
    view.event(f"mlflow: logging to {tracker.target.uri}, experiment '{tracker.target.experiment_name}', {where}")
    return tracker


def failed(tracker: Tracker | None, error: BaseException) -> None:
    """The run raised: end its MLflow run(s) FAILED (or KILLED), with the error."""
    if tracker is not None:
        tracker.fail(error)


def finish(tracker: Tracker | None, out: dict[str, Any]) -> dict[str, Any]:
    """Log the outcome and add ``tracking`` (and what could not be logged, as warnings) to the result ``out``."""
    return out if tracker is None else tracker.finish(out)
