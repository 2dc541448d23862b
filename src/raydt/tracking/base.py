"""What the train and tune trackers share: the client and its thread, the final artifacts (spec, result, best
checkpoint), model registration, how an MLflow run ends, and the result's ``tracking`` entry."""

from __future__ import annotations

import json
import os
from typing import Any

from raydt.plan import TrainPlan
from raydt.tracking import client, models
from raydt.tracking.sink import Sink

#: MLflow run status for raydt's result status (a Ctrl-C'd run is KILLED: `raydt resume` reopens it).
RUN_STATUS = {"success": "FINISHED", "partial": "KILLED", "error": "FAILED"}
from raydt.experiment import SPEC_FILE  # noqa: E402  # logged as an artifact


class Tracker:
    """One raydt run's MLflow books. ``start`` opens (or reopens) the run; the subclass logs what happens;
    ``finish(out)`` logs the outcome and adds ``tracking`` (and any warning) to the result ``out``."""

    def __init__(self, p: TrainPlan, mode: str) -> None:
        assert p.tracking is not None
        self.plan, self.mode, self.settings = p, mode, p.tracking
        self.target = client.target(p)
        self.client = client.make(self.target.uri)
        self.sink = Sink(self.target.uri)
        self.experiment_id: str | None = None
        self.run_id: str | None = None  # train: the run; tune: the parent run
        self.registered: dict[str, Any] | None = None

    def start(self) -> None:
        """Open the run; a failure here is a warning, never the end of the training."""
        try:
            self.experiment_id = client.experiment_id(self.client, self.target)
            self._open(client.load_state(self.target))
        except Exception as exc:  # noqa: BLE001 - the preflight passed; a later failure must not stop training
            self.sink.fail("the run itself", exc)

    def _open(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def _reopen(self, run_id: str | None) -> bool:
        """Whether ``run_id`` (from the experiment's state file) still exists; it is marked RUNNING again."""
        if not run_id:
            return False
        try:
            run = self.client.get_run(run_id)
        except Exception:  # noqa: BLE001 - deleted meanwhile: start a new run
            return False
        if run.info.lifecycle_stage == "deleted":
            return False
        self.client.update_run(run_id, status="RUNNING")
        return True

    def _new_run(self, name: str, tags: dict[str, str]) -> str:
        assert self.experiment_id is not None
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        return str(run.info.run_id)

    def finish(self, out: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def callbacks(self) -> list[Any]:
        """Ray Tune callbacks the search needs (none for a train run)."""
        return []

    def follow(self, relay: Any) -> None:
        """Log a train run's reports as ``relay`` brings them (nothing for a search)."""

    def fail(self, error: BaseException) -> None:
        """The run raised (a failed training): end the MLflow run FAILED with the error, then stop."""
        run_id, code = self.run_id, str(getattr(error, "code", type(error).__name__))
        text = str(getattr(error, "message", error))[:5000]
        if run_id is not None:
            self.sink.put(
                "the error tags", lambda: self._end(run_id, "FAILED", {"raydt.errorCode": code, "raydt.error": text})
            )
        self.sink.close()

    def _end(self, run_id: str, status: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(run_id, key, value)
        self.client.set_terminated(run_id, status=status)

    def _log_outcome(self, out: dict[str, Any], run_id: str, checkpoint_run: str | None) -> None:
        """Queue the spec and result artifacts on ``run_id``, and the best checkpoint (plus its registration)
        on ``checkpoint_run``."""
        spec = os.path.join(self.plan.experiment_path, SPEC_FILE)
        if os.path.isfile(spec):
            self.sink.put("the spec artifact", lambda: self.client.log_artifact(run_id, spec))
        doc = json.loads(json.dumps(out, default=str))
        self.sink.put("the result artifact", lambda: self.client.log_dict(run_id, doc, "raydt_result.json"))
        checkpoint = out.get("checkpointPath")
        if checkpoint_run is None or not checkpoint or not os.path.isdir(checkpoint):
            return
        self.sink.put(
            "the checkpoint artifact",
            lambda: self.client.log_artifacts(checkpoint_run, checkpoint, models.CHECKPOINT_ARTIFACT),
        )
        name = self.settings.register_model
        if name and out.get("status") == "success":
            alias = self.settings.model_alias
            self.sink.put("the model registration", lambda: self._register(name, alias, checkpoint_run))

    def _register(self, name: str, alias: str, run_id: str) -> None:
        self.registered = models.register(self.client, name, alias, run_id)

    def _close(self, out: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        """Wait for the queued calls, then add ``tracking`` and the sink's warnings to ``out``."""
        self.sink.close()
        info: dict[str, Any] = {"trackingUri": self.target.uri, "experimentName": self.target.experiment_name}
        if self.experiment_id is not None:
            info["experimentId"] = self.experiment_id
        if self.run_id is not None:
            info["runId"] = self.run_id
            info["runName"] = self.settings.run_name
        if self.target.local_store:
            info["localStore"] = self.target.local_store
        info.update(extra)
        if self.registered:
            info["registeredModel"] = self.registered
        out["tracking"] = {"mlflow": info}
        warnings = self.sink.warnings()
        if warnings:
            out["warnings"] = [*out.get("warnings", []), *warnings]
        return out
