"""``mode: train``: one MLflow run, logged from the driver as the relay brings each ``ray.train.report``.

Ray Train V2 calls no Tune callback, and logging from rank 0 of the workers would log twice after a
worker-group restart (or a ``raydt resume``) re-reports an epoch. The driver sees every report once, in
order (``relay.Relay.history``), and logs each step once: the step is the report's ``epoch`` (or the framework's
iteration key), and a step already in the run's history (an epoch re-trained after a restart from an older
checkpoint, or logged before a resume) is skipped. A resumed run reopens the run id kept in the experiment.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from raydt.frameworks.common import RESERVED_KEY
from raydt.plan import TrainPlan
from raydt.tracking import client
from raydt.tracking.base import RUN_STATUS, Tracker

#: Keys a report's step is read from, in order (the framework's own iteration key goes first).
STEP_KEYS = ("epoch", "round", "iteration", "training_iteration", "step")
POLL_S = 0.5


class TrainTracker(Tracker):
    """One MLflow run for one Ray Train run."""

    def __init__(self, p: TrainPlan) -> None:
        super().__init__(p, "train")
        self.logged_upto = 0  # the highest step in the run's history
        self.reports = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._keys = (p.framework.iteration_name, *STEP_KEYS)

    def _open(self, state: dict[str, Any]) -> None:
        if self._reopen(state.get("runId")):
            self.run_id = str(state["runId"])
            self.logged_upto = client.last_step(self.client, self.run_id, self.plan.metric)
            return
        self.run_id = self._new_run(self.settings.run_name, client.plan_tags(self.plan, "train"))
        client.save_state(self.target, {"runId": self.run_id, "experimentId": self.experiment_id})
        config = {k: v for k, v in self.plan.loop_config.items() if k != RESERVED_KEY}
        params = {**client.flat(config), **_settings(self.plan)}
        client.log_params(self.client, self.run_id, params)

    def step_of(self, metrics: dict[str, Any]) -> int:
        """The report's step: its epoch (round, ...) when it carries one, else the next step."""
        for key in self._keys:
            value = metrics.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
        return max(self.logged_upto, self.reports) + 1

    def log_report(self, record: dict[str, Any]) -> None:
        """Queue one relayed report (``{"metrics", "checkpoint", "time"}``) unless its step is logged already."""
        step = self.step_of(record.get("metrics", {}))
        self.reports += 1
        if self.run_id is None or step <= self.logged_upto:
            return
        self.logged_upto = step
        run_id, values = self.run_id, client.numbers(record.get("metrics", {}))
        when = float(record.get("time") or time.time())
        self.sink.put("metric report", lambda: client.log_metrics(self.client, run_id, values, step, when))

    def follow(self, relay: Any) -> None:
        """Log ``relay.history`` as it grows (a thread of its own: the relay's drains the Ray queue)."""

        def poll() -> None:
            seen = 0
            while True:
                stop = self._stop.is_set()
                history = relay.history
                for record in history[seen:]:
                    self.log_report(record)
                seen = len(history)
                if stop:
                    return
                self._stop.wait(POLL_S)

        self._thread = threading.Thread(target=poll, name="raydt-mlflow-follow", daemon=True)
        self._thread.start()

    def _unfollow(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def fail(self, error: BaseException) -> None:
        self._unfollow()
        super().fail(error)

    def finish(self, out: dict[str, Any]) -> dict[str, Any]:
        """Log the outcome (result, spec, best checkpoint, registration), end the run, fill ``out['tracking']``."""
        self._unfollow()
        run_id = self.run_id
        if run_id is not None:
            self._log_outcome(out, run_id, run_id)
            tags = {"raydt.status": str(out.get("status"))}
            status = RUN_STATUS.get(str(out.get("status")), "FINISHED")
            self.sink.put("the run's status", lambda: self._end(run_id, status, tags))
        return self._close(out, {})


def _settings(p: TrainPlan) -> dict[str, str]:
    """The run's settings beside the loop config, as params (what a reader of the run needs to compare runs)."""
    return {
        "raydt.framework": p.framework.name,
        "raydt.numWorkers": str(p.workers.num_workers),
        "raydt.resourcesPerWorker": json.dumps(p.workers.resources),
        "raydt.metric": p.metric,
        "raydt.metricMode": p.metric_mode,
        "raydt.trainer": str(p.trainer) if p.trainer else "built-in",
    }
