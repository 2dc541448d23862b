"""The checks a train or tune run makes before it trains, as one list that ``raydt run`` (``skeleton``) and ``raydt
doctor SPEC`` (one check row each) both run: a spec doctor passes is not refused at once by the run for any of them.

What ``raydt run`` refuses before training, and the doctor check that covers it:

- the spec (validation) .......................................... ``spec``
- the framework's, searcher's and scheduler's packages ........... ``import <module>`` (a child Python)
- the storage folder (the run's log folder is created in it) ..... ``storage``
- the experiment's name and resume rule (``experiment.check_new``) ``experiment``          (here)
- ``runConfig.tracking``: MLflow, the URI, the server answers .... ``tracking``            (here)
- the trainer's code where it runs fast (``FrameworkAdapter.probe``) ``trainer code``      (here)
- an Optuna search's warm start and points (``optuna_study.seed``) ``search seed``         (here)
- ``config.rayInit``'s keys (``ray_session.check_ray_init``) ..... ``rayInit``             (here)
- a ``raydt cluster up`` cluster whose head died (``detect.refuse_dead``) ``lasting cluster``
- the address answers (``ray_session.check_reachable``) .......... ``cluster``
- connected: the workers fit the nodes (``preflight.admit``) and every node reaches the storage
  (``preflight.check_storage``) .................................. ``resources``, ``storage (nodes)``

``dataConfig``'s data is read by Ray Data once Ray runs (``DATA_INVALID``); doctor does not read it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from raydt.plan import TrainPlan, TunePlan
from raydt.registry import SEARCHERS
from raydt.spec.loader import LoadedSpec


@dataclass(frozen=True)
class Preflight:
    """One check: ``run`` raises the run's ``RaydtError`` or returns what it found (doctor's ``found``)."""

    name: str
    run: Callable[[], str]


def training(loaded: LoadedSpec, p: TrainPlan, search_space: Any = None) -> list[Preflight]:
    """What a train run (or each trial of a search: ``search_space``) checks before Ray starts, in order."""
    from raydt import experiment, frameworks, tracking

    def experiment_rule() -> str:
        base = loaded.base_dirs
        experiment.check_new(p.experiment_path, p.resume, loaded.raw, p.name, p.storage_path, base_dirs=base)
        if os.path.isdir(p.experiment_path):
            return f"{p.experiment_path} exists, started with this spec: the run continues it"
        return f"{p.experiment_path}: a new experiment"

    def tracking_rule() -> str:
        tracking.check(p)  # an unreachable MLflow server fails now, before Ray starts
        if p.tracking is None:
            return "no runConfig.tracking"
        from raydt.tracking.client import target

        where = target(p)
        if where.local_store:
            return f"MLflow: a local store in {where.local_store}"
        return f"MLflow at {where.uri} answers"

    def code_rule() -> str:
        adapter = frameworks.adapter(p.framework)
        adapter.probe(p.loop_config, search_space)  # e.g. trainConfig.model: one batch on CPU
        probed = "passed its checks (one batch on CPU for trainConfig.model)"
        return f"{p.framework.name}: {probed if adapter.info.probe else 'nothing to check before Ray'}"

    return [
        Preflight("experiment", experiment_rule),
        Preflight("tracking", tracking_rule),
        Preflight("trainer code", code_rule),
    ]


def search(p: TunePlan) -> list[Preflight]:
    """What a search checks before Ray starts besides its trials' checks (``runners.tune.run_tune`` seeds the
    study it then uses)."""
    if not SEARCHERS[p.searcher].seeded_study:
        return []

    def seed_rule() -> str:
        from raydt.search.optuna_study import seed

        notes = seed(p).warnings
        return f"{p.searcher}: the study is seeded" + (f" ({'; '.join(notes)})" if notes else "")

    return [Preflight("search seed", seed_rule)]


def connection(p: TrainPlan) -> list[Preflight]:
    """What connecting checks before ``ray.init`` (``ray_session.connect``): config.rayInit's keys."""
    if not p.ray_init:
        return []
    from raydt import ray_session

    return [Preflight("rayInit", lambda: ray_session.check_ray_init(p.ray_init))]
