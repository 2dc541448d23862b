"""One run skeleton for the training modes: connect, preflight, experiment dir, data, fit, result.

Train and tune share every step but three: what the cluster must hold (``admit``), how the work is
handed to Ray (``fit``) and how the live view is set up. Each mode is a small class that fills those in
(the template method of Syne Tune's backends); the books — the experiment's stored spec, the cluster
status, dataConfig's datasets, warnings — are kept here, once.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from raydt import data, experiment, paths, preflight, ray_config, ray_session
from raydt.plan import TrainPlan
from raydt.progress import ProgressView
from raydt.runners import cost, preflights
from raydt.spec.loader import LoadedSpec


@dataclass(frozen=True)
class Admission:
    """What the cluster check decided: warnings to show, and the CPUs the run's workers hold at once
    (Ray Data must leave them free when it streams)."""

    notes: tuple[str, ...]
    worker_cpus: float
    reserved: dict[str, float] = dataclasses.field(default_factory=dict)  # at once, for results.cost


@dataclass(frozen=True)
class Connection:
    """How to connect for this run: dashboard (Ray Train's controller needs the State API), the
    workers' environment, and the driver's heavy imports to warm while Ray starts."""

    dashboard: bool
    env_vars: dict[str, str]
    warm: tuple[str, ...]


class Mode(Protocol):
    """What a training mode fills in."""

    @property
    def train_plan(self) -> TrainPlan: ...

    def describe(self) -> str:
        """The live view's first line."""

    def connection(self) -> Connection: ...

    def ray_env(self) -> dict[str, str]:
        """Ray's settings in this process's environment while ``fit`` runs (``ray_config.run_env``)."""

    def admit(self, status: dict[str, Any], view: ProgressView) -> Admission:
        """Check the request against the cluster (raise when it can never fit) and set up the view."""

    def fit(self, plan: TrainPlan, datasets: dict[str, Any] | None, status: dict[str, Any]) -> dict[str, Any]:
        """Hand the work to Ray and turn what happened into the result."""


def run(loaded: LoadedSpec, view: ProgressView, mode: Mode) -> dict[str, Any]:
    """Run ``mode`` through the shared steps and return its result; with ``runConfig.report``, the report is
    written once the run ended, however it ended (``report.hook``)."""
    p = mode.train_plan
    if p.report:
        from raydt.report.hook import reported

        return reported(p.experiment_path, view, lambda: _steps(loaded, view, mode))
    return _steps(loaded, view, mode)


def _steps(loaded: LoadedSpec, view: ProgressView, mode: Mode) -> dict[str, Any]:
    p = mode.train_plan
    started = time.monotonic()
    view.run_name = p.name  # runConfig.notify's messages name the experiment (also one a preflight refuses)
    # the experiment's name, runConfig.tracking, the user's code where it runs fast: before Ray starts (raydt
    # doctor runs the same list)
    for step in preflights.training(loaded, p, getattr(mode, "search_space", None)):
        step.run()
    view.event(mode.describe())
    conn = mode.connection()
    env = {**ray_session.code_env(paths.code_folders(loaded.raw, loaded.base_dirs)), **conn.env_vars}
    with ray_session.connect(p.address, p.ray_init, dashboard=conn.dashboard, env_vars=env, warm=conn.warm):
        status = ray_session.cluster_status(p.autoscaling)
        view.event(f"ray: {status['numNodes']} node(s), {status['totalCpu']:g} CPU, {status['totalGpu']:g} GPU")
        view.event(f"ray: using {ray_session.describe(p.address)}")
        admission = mode.admit(status, view)
        preflight.check_storage(p.storage_path, p.shared_storage, status)
        with _turn(status, admission, view) as turn:  # runs sent to one cluster at once start in order
            # dataConfig: read and preprocessed once here (a search hands the same datasets to every trial)
            datasets, loop_config, data_info = data.attach(
                loaded, p.loop_config, p.trainer is None, p.experiment_path, view, status, admission.worker_cpus
            )
            # stored once the data is good: a DATA_INVALID run has trained nothing and must not take the name
            experiment.save_spec(p.experiment_path, loaded.raw, p.name, p.storage_path, base_dirs=loaded.base_dirs)
            with ray_config.scoped_env(mode.ray_env()):  # restored after the run: none leaks into the next one
                out = mode.fit(dataclasses.replace(p, loop_config=loop_config), datasets, status)
    if data_info is not None:
        out["data"] = data_info
    notes = [*admission.notes]
    if turn.get("waitedS"):
        notes.append(f"waited {turn['waitedS']:g}s for the runs sent to this cluster before it (they start in order)")
    if notes:
        out["warnings"] = [*notes, *out.get("warnings", [])]
    cost.record_run(p, out, admission.reserved, status["numNodes"], time.monotonic() - started)
    return out


@contextmanager
def _turn(status: dict[str, Any], admission: Admission, view: ProgressView) -> Iterator[dict[str, Any]]:
    """This run's turn on a shared cluster (``clusters.turns``); an embedded Ray is this run's alone."""
    if status.get("source") == "embedded" or not admission.reserved:
        yield {}
        return
    import ray

    from raydt.clusters import turns

    total = {"CPU": float(status["totalCpu"]), "GPU": float(status["totalGpu"])}
    need = {key: float(admission.reserved.get(key, 0.0)) for key in total}
    with turns.turn(ray.get_runtime_context().gcs_address, need, total, view.event) as waited:
        yield waited
