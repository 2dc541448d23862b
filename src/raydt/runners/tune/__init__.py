"""``mode: tune``: a Ray Tune search whose trials are (distributed) training runs."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import time
from typing import Any

from raydt import frameworks, plan, ray_config, tracking
from raydt.errors import (
    MetricNotReportedError,
    MissingDependencyError,
    PendingTimeoutError,
    RaydtError,
    RunError,
)
from raydt.plan import TrainPlan, TunePlan
from raydt.progress import ProgressView
from raydt.registry import SCHEDULERS, SEARCHERS
from raydt.results.model import ClusterStatus
from raydt.runners import skeleton
from raydt.runners.train import user_loop
from raydt.runners.tune import algos as tune_algos
from raydt.runners.tune.concurrency import Concurrency, plan_concurrency
from raydt.spec.loader import LoadedSpec


def run_tune(loaded: LoadedSpec, view: ProgressView) -> dict[str, Any]:
    """Run ``loaded`` as a Ray Tune search."""
    p = plan.tune(loaded)
    _check_modules(p)
    from raydt.search.optuna_study import Seeded, seed

    seeded = seed(p) if SEARCHERS[p.searcher].seeded_study else Seeded()  # before Ray: a bad warm start fails now
    return skeleton.run(loaded, view, TuneMode(p, view, seeded))


class TuneMode:
    """``mode: tune`` in the run skeleton: a Ray Tune search whose trials train."""

    def __init__(self, p: TunePlan, view: ProgressView, seeded: Any = None) -> None:
        self.p = p
        self.seeded = seeded  # raydt.search.optuna_study.Seeded: the study an Optuna search starts from
        self.train_plan = p.train
        self.search_space = p.search_space  # the one-batch probe of a user model tries typical values of it
        self.view = view
        self.adapter = frameworks.adapter(p.train.framework)
        self.loop = self.adapter.builtin_loop() if p.train.trainer is None else user_loop(p.train.trainer)
        self.conc: Concurrency | None = None

    def describe(self) -> str:
        p = self.p
        shape = (
            "distributed Ray Train trials" if p.distributed else ("Tune function" if p.kind == "tune" else "in-trial")
        )
        return (
            f"tune: {p.num_samples} sample(s), searcher {p.searcher}, scheduler {p.scheduler}, "
            f"{p.train.workers.num_workers} worker(s) x {p.train.workers.resources} per trial ({shape})"
        )

    def connection(self) -> skeleton.Connection:
        # Ray Train's controller (distributed trials) needs the State API, i.e. the dashboard; in-process
        # trials do not, and an embedded Ray starts seconds faster without it.
        return skeleton.Connection(self.p.distributed, self.adapter.worker_env(), _driver_modules(self.p, self.adapter))

    def ray_env(self) -> dict[str, str]:
        return ray_config.run_env(self.p.train, search=True)  # Tune's automatic loggers and strict metric check off

    def admit(self, status: dict[str, Any], view: ProgressView) -> skeleton.Admission:
        p = self.p
        conc = self.conc = plan_concurrency(p, status)
        for note in conc.notes:
            view.event(note)
        exist = "" if conc.cap_creation else f" (all {p.num_samples} sample(s) exist, paused or pending)"
        view.event(f"running up to {conc.running} trial(s) at once{exist}")
        # a Tune function may report every few milliseconds: one line per trial every 2 s, new bests always
        unit = "iter" if p.kind == "tune" else p.train.framework.iteration_name
        from raydt.runners.tune.results import expected_trials

        view.watch(
            p.train.metric,
            p.train.metric_mode,
            unit=unit,
            throttle_s=TRIAL_LINE_S,
            total_trials=expected_trials(p),  # numSamples and timeBudgetS: the terminal table's ETA
            budget_s=p.time_budget_s,
        )
        w = p.train.workers
        reserved = {k: v * conc.running for k, v in w.total().items()}
        return skeleton.Admission(conc.notes, reserved.get("CPU", 0.0), reserved)

    def fit(self, train: TrainPlan, datasets: dict[str, Any] | None, status: dict[str, Any]) -> dict[str, Any]:
        from raydt.runners.tune.results import summarize

        assert self.conc is not None  # admit ran first
        p = dataclasses.replace(self.p, train=train)
        from raydt.runners.tune.memory import guard_for

        guard = guard_for(p, self.conc, status, self.view)  # fewer trials at once if they outgrow the memory
        record_plan(p, self.conc.running)
        tracker = tracking.start(p, self.view)  # runConfig.tracking: a parent MLflow run, a nested run per trial
        try:
            grid, elapsed, goal_reached = _fit(
                p, self.adapter, self.loop, self.view, self.conc, datasets, tracker, self.seeded, guard
            )
            out = summarize(p, grid, elapsed, goal_reached)
            tune_algos.add_seeded(out, p, self.seeded)
            if guard is not None and guard.notes:
                out.warnings = [*(out.warnings or []), *guard.notes]
        except BaseException as exc:
            tracking.failed(tracker, exc)
            raise
        out.cluster_status = ClusterStatus.model_validate(status)
        out.max_concurrent_trials = guard.cap if guard is not None else self.conc.running
        if out.max_concurrent_trials != self.conc.running:  # the memory guard lowered it: the report says so
            record_plan(p, out.max_concurrent_trials)
        return tracking.finish(tracker, out.dump())


def record_plan(p: TunePlan, cap: int) -> None:
    """Keep the resolved searcher, scheduler and concurrency in the ledger: a report written later from the
    experiment folder names what the run used, not the spec's often absent words ("default", "auto")."""
    from raydt.experiment.ledger import append

    append(
        p.train.experiment_path,
        {
            "event": "plan",
            "searchAlgorithm": p.searcher,
            "scheduler": p.scheduler,
            "searchChoice": p.choice_reason,
            "maxConcurrentTrials": cap,
            "numSamples": p.num_samples,
        },
    )


#: The live view shows at most one result line per trial in this many seconds (new bests always).
TRIAL_LINE_S = 2.0


def _driver_modules(p: TunePlan, adapter: Any) -> tuple[str, ...]:
    """The driver's heavy imports for this search (Tune, the searcher's and scheduler's modules, the
    trainer class of distributed trials), warmed while Ray starts."""
    modules = ["ray.tune", "raydt.runners.tune.trials", "ray.air.integrations.mlflow"]  # Tune's usage tags import it
    for target in (SEARCHERS[p.searcher].target, SCHEDULERS[p.scheduler].target):
        modules.append(target.partition(":")[0])
    if p.distributed:
        modules.extend(adapter.driver_modules)
    return tuple(modules)


def _check_modules(p: TunePlan) -> None:
    for info in (SCHEDULERS[p.scheduler], SEARCHERS[p.searcher]):
        missing = [m for m in info.modules if importlib.util.find_spec(m) is None]
        if missing:
            raise MissingDependencyError(
                f"'{info.name}' needs {', '.join(missing)}, which is not installed",
                hint=f"pip install 'ray-distributed-trainer[{info.extra}]'",
            )


def _fit(
    p: TunePlan,
    adapter: Any,
    loop: Any,
    view: ProgressView,
    conc: Concurrency,
    datasets: dict[str, Any] | None,
    tracker: Any = None,
    seeded: Any = None,
    guard: Any = None,
) -> tuple[Any, float, bool]:
    """Run (or resume) the search: the ResultGrid, seconds taken, and whether stopAt's goal was reached."""
    from ray import tune

    from raydt.runners.tune.trials import build_trainable
    from raydt.runners.tune.watch import FailedTrials, PendingWatch, ProgressCallback, SearchStopper, TrialLedger

    trainable = build_trainable(
        p, loop, adapter.trainer_class() if p.distributed else None, adapter.worker_env(), datasets
    )
    t = p.train
    ProgressCallback.active_view = view
    tracked = tracker.callbacks() if tracker is not None else []  # also sets the tracker a restored search uses
    if t.resume == "auto" and tune.Tuner.can_restore(t.experiment_path):
        # same experiment again (raydt resume, or the same spec with runConfig.resume: auto): finished
        # trials are kept, unfinished and errored ones continue from their last checkpoint
        import shutil

        from raydt.experiment import USER_ERRORS_DIR

        # the user may have fixed the code that raised: errored trials train again
        shutil.rmtree(os.path.join(t.experiment_path, USER_ERRORS_DIR), ignore_errors=True)
        view.event(f"resuming the experiment in {t.experiment_path}")
        old_module_paths()
        restored = tune.Tuner.restore(
            t.experiment_path, trainable=trainable, resume_errored=True, param_space=tune_algos.param_space(p)
        )
        return (*_run(restored, p), False)
    stopper = SearchStopper(
        t.metric,
        t.metric_mode,
        p.stop_at,
        t.experiment_path,
        also=tuple(p.search.required_metrics),
        max_iterations=p.search.max_iterations_per_trial,
        trial_stop=p.search.trial_stop,
        max_failed=p.search.max_failed_trials,
    )
    alg = tune_algos.searcher(p, conc.running if conc.cap_creation else 0, seeded)
    callbacks = [
        *([guard] if guard is not None else []),  # first: it may lower the cap before Tune starts more trials
        ProgressCallback(view),
        FailedTrials(stopper),
        PendingWatch(t.pending_timeout_s),
        TrialLedger(t.experiment_path),
        *_loggers(t.tensorboard),
        *tracked,
    ]
    run_config = ray_config.tune_run(t, p.max_failures_per_trial, stopper, callbacks)
    tuner = tune.Tuner(
        trainable,
        param_space=tune_algos.param_space(p),
        tune_config=tune.TuneConfig(
            metric=t.metric,
            mode=t.metric_mode,
            num_samples=p.num_samples,
            scheduler=tune_algos.scheduler(p),
            search_alg=guard.attach(alg) if guard is not None else alg,
            time_budget_s=p.time_budget_s,
            reuse_actors=p.reuse,
        ),
        run_config=run_config,
    )
    grid, elapsed = _run(tuner, p)
    return grid, elapsed, stopper.reached


def _loggers(tensorboard: bool) -> list[Any]:
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    loggers: list[Any] = [CSVLoggerCallback(), JsonLoggerCallback()]
    if tensorboard:
        from ray.tune.logger import TBXLoggerCallback

        loggers.append(TBXLoggerCallback())
    return loggers


def _run(tuner: Any, p: TunePlan) -> tuple[Any, float]:
    from raydt.ray_compat.tune import booting_trial_actors_kept, trainables_read_once

    start = time.monotonic()
    try:
        with trainables_read_once(), booting_trial_actors_kept():
            grid = tuner.fit()
    except RaydtError:
        raise
    except Exception as exc:  # Tune raises only for driver-side failures (bad searcher state, ...)
        from raydt.runners.tune.watch import PENDING_MARKER, reported_in

        reported = reported_in(exc)
        if reported is not None:
            missing = [m for m in p.search.required_metrics if m not in reported] or [p.train.metric]
            err = MetricNotReportedError(
                f"metric '{missing[0]}' is not in the trial's results; it reported: "
                f"{', '.join(reported) or '(nothing)'}",
                hint="Set tuneConfig.metric (and constraints) to reported metrics, or report them from the trainer.",
            )
            err.details = {"reported": reported, "experimentPath": p.train.experiment_path}
            raise err from None

        if PENDING_MARKER in str(exc):
            raise PendingTimeoutError(
                "trials could not be scheduled within runConfig.pendingTimeoutS while none was running",
                hint="The cluster lacks free resources for a trial (busy, or waiting on an autoscaler); raise "
                "runConfig.pendingTimeoutS, lower config.resourcesPerWorker, or add nodes.",
            ) from None
        failed = RunError(f"the search failed: {_last_line(exc)}")
        failed.details = {"traceback": [ln for ln in str(exc).splitlines() if ln.strip()][-12:]}
        raise failed from exc
    return grid, time.monotonic() - start


def _last_line(exc: BaseException) -> str:
    """The exception's own message without Ray's traceback text (Tune puts whole tracebacks in messages)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not ln.startswith(("  ", "Traceback"))]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"[:500]


#: Modules whose classes a search's experiment state pickles (its callbacks and stopper), by the path they had
#: before the tune runner became a package: an experiment started then is resumed by the same classes.
OLD_MODULE_PATHS = {
    "raydt.runners." + "tune_watch": "raydt.runners.tune.watch",  # split: a path rewrite must not touch them
    "raydt.runners." + "tune_memory": "raydt.runners.tune.memory",
}


def old_module_paths() -> None:
    """Make the old paths import the moved modules (Tuner.restore unpickles the callbacks by module path)."""
    import importlib
    import sys

    for old, new in OLD_MODULE_PATHS.items():
        sys.modules.setdefault(old, importlib.import_module(new))
