"""``mode: tune``: a parent MLflow run for the search and one nested run per trial. Imports Ray Tune: loaded only for
a search with ``runConfig.tracking``.

A Tune callback (``MlflowCallback``) hands each trial's config and results to the tracker: the metric history's step
is Tune's ``training_iteration``, and a step already logged (a trial retried from scratch, a resumed search) is not
logged again. How each trial ended (status, stopped early, error code) is raydt's own reading of the search
(``runners.tune.results``), written when the result is known; the best trial's run is tagged ``raydt.best`` and holds
the best checkpoint (and the registered model version).
"""

from __future__ import annotations

from typing import Any, ClassVar

import ray.tune

from raydt.experiment.ledger import TUNE_AUTO_KEYS
from raydt.plan import TunePlan
from raydt.tracking import client
from raydt.tracking.base import RUN_STATUS, Tracker

#: MLflow status of a trial run for raydt's trial status.
TRIAL_STATUS = {"TERMINATED": "FINISHED", "ERROR": "FAILED", "INTERRUPTED": "KILLED"}


class TuneTracker(Tracker):
    """The parent run of a search and its trials' nested runs."""

    def __init__(self, p: TunePlan) -> None:
        super().__init__(p.train, "tune")
        self.tune_plan = p
        self.trial_runs: dict[str, str] = {}  # trial id -> run id ("" until the sink thread created it)
        self.logged: dict[str, int] = {}  # trial id -> highest step in its run (sink thread only)
        self.reused: set[str] = set()  # trials whose run comes from before a resume

    def _open(self, state: dict[str, Any]) -> None:
        if self._reopen(state.get("runId")):
            self.run_id = str(state["runId"])
            assert self.experiment_id is not None
            found = self.client.search_runs(
                [self.experiment_id], f"tags.mlflow.parentRunId = '{self.run_id}'", max_results=50_000
            )
            for run in found:
                trial = run.data.tags.get("raydt.trialId")
                if trial:
                    self.trial_runs[trial] = str(run.info.run_id)
                    self.reused.add(trial)
            return
        self.run_id = self._new_run(self.settings.run_name, client.plan_tags(self.plan, "tune"))
        client.save_state(self.target, {"runId": self.run_id, "experimentId": self.experiment_id})
        client.log_params(self.client, self.run_id, _search_params(self.tune_plan))

    def callbacks(self) -> list[Any]:
        MlflowCallback.active = self  # also for a resumed search, whose callbacks come from its snapshot
        return [MlflowCallback()]

    def trial_started(self, trial_id: str, config: dict[str, Any]) -> None:
        if trial_id in self.trial_runs or self.run_id is None:
            return
        self.trial_runs[trial_id] = ""
        parent = self.run_id
        tags = {**client.plan_tags(self.plan, "tune"), "mlflow.parentRunId": parent, "raydt.trialId": trial_id}

        def create() -> None:
            run_id = self._new_run(trial_id, tags)
            self.trial_runs[trial_id] = run_id
            client.log_params(self.client, run_id, client.flat(config))

        self.sink.put("a trial's run", create)

    def trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        self.trial_started(trial_id, dict(result.get("config") or {}))
        step = int(result.get("training_iteration") or 0)
        values = client.numbers({k: v for k, v in result.items() if k not in TUNE_AUTO_KEYS})
        when = float(result.get("timestamp") or 0) or None

        def log() -> None:
            run_id = self.trial_runs.get(trial_id)
            if not run_id:
                return
            upto = self.logged.get(trial_id)
            if upto is None:
                upto = client.last_step(self.client, run_id, self.plan.metric) if trial_id in self.reused else 0
            if step > upto:
                import time

                client.log_metrics(self.client, run_id, values, step, when or time.time())
                self.logged[trial_id] = step

        self.sink.put("trial metric report", log)

    def fail(self, error: BaseException) -> None:
        self.sink.wait()
        for run_id in [r for r in self.trial_runs.values() if r]:
            self.sink.put("a trial's status", lambda run_id=run_id: self._end(run_id, "KILLED", {}))  # type: ignore[misc]
        super().fail(error)

    def finish(self, out: dict[str, Any]) -> dict[str, Any]:
        """End every trial's run as the result says, tag the best, log the outcome on the parent run."""
        self.sink.wait()  # every trial's run exists (or failed to) before its id is read
        best = (out.get("results") or {}).get("bestTrialId")
        rows = {row["trialId"]: row for row in out.get("trials", [])}
        for trial_id, run_id in self.trial_runs.items():
            if run_id:
                row = rows.get(trial_id, {"status": "INTERRUPTED"})
                tags = _trial_tags(row, trial_id == best)
                status = TRIAL_STATUS.get(row["status"], "KILLED")
                self.sink.put("a trial's status", lambda r=run_id, s=status, t=tags: self._end(r, s, t))  # type: ignore[misc]
        parent, best_run = self.run_id, self.trial_runs.get(best or "") or None
        if parent is not None:
            self._log_outcome(out, parent, best_run)
            self.sink.put("the parent run's status", lambda: self._end_parent(parent, out, best, best_run))
        extra: dict[str, Any] = {"nestedRuns": sum(1 for r in self.trial_runs.values() if r)}
        if best_run:
            extra["bestRunId"] = best_run
        return self._close(out, extra)

    def _end_parent(self, run_id: str, out: dict[str, Any], best: str | None, best_run: str | None) -> None:
        res = out.get("results") or {}
        if isinstance(res.get("bestMetric"), int | float):
            client.log_metrics(self.client, run_id, {f"best_{self.plan.metric}": float(res["bestMetric"])}, 0, _now())
        tags = {"raydt.status": str(out.get("status")), "raydt.numTrials": str(res.get("numTrials", 0))}
        if best:
            tags.update({"raydt.bestTrialId": best, "raydt.bestRunId": best_run or ""})
        self._end(run_id, RUN_STATUS.get(str(out.get("status")), "FINISHED"), tags)


def _now() -> float:
    import time

    return time.time()


def _trial_tags(row: dict[str, Any], best: bool) -> dict[str, str]:
    tags = {"raydt.status": str(row["status"]), "raydt.iterations": str(row.get("iterations", 0))}
    if row.get("stoppedEarly"):
        tags["raydt.stoppedEarly"] = "true"
    if row.get("error"):
        tags.update({"raydt.errorCode": str(row["error"]["code"]), "raydt.error": str(row["error"]["message"])[:5000]})
    if best:
        tags["raydt.best"] = "true"
    return tags


def _search_params(p: TunePlan) -> dict[str, str]:
    """The parent run's params: the fixed loop config and the search's settings."""
    from raydt.frameworks.common import RESERVED_KEY

    fixed = {k: v for k, v in p.train.loop_config.items() if k != RESERVED_KEY}
    return {
        **client.flat(fixed),
        "raydt.framework": p.train.framework.name,
        "raydt.metric": p.train.metric,
        "raydt.metricMode": p.train.metric_mode,
        "raydt.numSamples": str(p.num_samples),
        "raydt.searchAlgorithm": p.searcher,
        "raydt.scheduler": p.scheduler,
        "raydt.numWorkers": str(p.train.workers.num_workers),
    }


class MlflowCallback(ray.tune.Callback):  # type: ignore[misc]
    """Hands trial starts and results to the search's ``TuneTracker``.

    A resumed search restores its callbacks from the experiment's snapshot (``Tuner.restore`` takes no new ones):
    the callback keeps no state of its own and talks to ``active``, which the tune runner sets before every fit.
    """

    active: ClassVar[TuneTracker | None] = None

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **_: Any) -> None:
        if MlflowCallback.active is not None:
            MlflowCallback.active.trial_started(trial.trial_id, dict(trial.config))

    def on_trial_result(self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any], **_: Any) -> None:
        if MlflowCallback.active is not None:
            MlflowCallback.active.trial_result(trial.trial_id, result)
