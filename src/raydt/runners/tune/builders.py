"""The build hooks of the scheduler and searcher rows whose Ray object needs more than its class and the plan's
options: a row names its hook as ``"raydt.runners.tune.builders:NAME"`` (``SchedulerInfo.build``,
``SearcherInfo.build``), so the registry imports neither the plan nor the search package. Ray, Optuna and raydt's
Optuna searcher are imported when a hook runs (in a run's driver, never in validation)."""

from __future__ import annotations

from typing import Any

from raydt.plan import TunePlan
from raydt.registry import SchedulerInfo, SearcherInfo, load


def pbt(p: TunePlan, info: SchedulerInfo) -> Any:
    """Population Based Training mutates over the space's domains (``hyperparam_mutations``)."""
    return load(info.target)(**{**p.scheduler_options, "hyperparam_mutations": p.search_space.mutations()})


def pb2(p: TunePlan, info: SchedulerInfo) -> Any:
    """PB2 explores inside the space's numeric bounds (``hyperparam_bounds``)."""
    return load(info.target)(**{**p.scheduler_options, "hyperparam_bounds": p.search_space.bounds()})


def optuna_search(p: TunePlan, info: SearcherInfo, seeded: Any) -> Any:
    """raydt's Optuna searcher: define-by-run over the tree, every objective, constraints, the seeded study
    (``seeded``: ``raydt.search.optuna_study.Seeded``, seeded here when not given)."""
    import optuna

    from raydt.search.optuna import RaydtOptunaSearch, SpaceFunction
    from raydt.search.optuna_study import STUDY, seed

    seeded = seeded if seeded is not None and seeded.storage is not None else seed(p)
    metrics, modes = [o.metric for o in p.search.objectives], [o.mode for o in p.search.objectives]
    return RaydtOptunaSearch(
        SpaceFunction(p.search_space),
        p.search.constraints,
        metric=metrics if p.search.multi_objective else metrics[0],
        mode=modes if p.search.multi_objective else modes[0],
        sampler=optuna.samplers.TPESampler(seed=p.seed),
        storage=seeded.storage,
        study_name=STUDY,
        **p.searcher_options,
    )
