"""The search algorithm, the scheduler and the param_space a search hands Ray Tune, built from the plan.
Imports Ray Tune (and the searcher's library) only when called."""

from __future__ import annotations

import importlib
from typing import Any

from raydt.plan import TunePlan
from raydt.registry import SCHEDULERS, SEARCHERS


def scheduler(p: TunePlan) -> Any:
    if p.searcher == "bohb" and p.scheduler == "hyperband":
        from ray.tune.schedulers import HyperBandForBOHB

        return HyperBandForBOHB(**p.scheduler_options)
    cls = load(SCHEDULERS[p.scheduler].target)
    options = dict(p.scheduler_options)
    if p.scheduler == "pbt":
        options["hyperparam_mutations"] = p.search_space.mutations()
    if p.scheduler == "pb2":
        options["hyperparam_bounds"] = p.search_space.bounds()
    return cls(**options)


def add_seeded(out: dict[str, Any], p: TunePlan, seeded: Any) -> None:
    """Warm-started trials (counted apart from the trials run) and the warm start's warnings."""
    if p.search.warm_start and seeded is not None:
        out["results"]["warmStartedTrials"] = seeded.warm_started
    if seeded is not None and seeded.warnings:
        out["warnings"] = [*out.get("warnings", []), *seeded.warnings]


def param_space(p: TunePlan) -> dict[str, Any]:
    """Tune's param_space: empty for Optuna, whose define-by-run function samples the whole space."""
    return {} if p.searcher == "optuna" else p.search_space.to_tune()


def searcher(p: TunePlan, cap: int, seeded: Any = None) -> Any:
    """``cap``: trials the searcher starts at once (0: no cap). The cap is an attribute ``max_concurrent``
    of the object returned (a ConcurrencyLimiter, or the random searcher's own), which
    ``runners.tune_memory`` lowers while the search runs."""
    if p.searcher == "random":  # a SearchGenerator: it takes the cap itself, and Tune's wrapper ignores it
        return _searcher(p, seeded, {"max_concurrent": cap})
    found = _searcher(p, seeded, {})
    if not cap:
        return found
    from ray.tune.search import ConcurrencyLimiter

    return ConcurrencyLimiter(found, max_concurrent=cap)  # what TuneConfig.max_concurrent_trials would make


def _searcher(p: TunePlan, seeded: Any, extra: dict[str, Any]) -> Any:
    if p.searcher == "optuna":
        return optuna_searcher(p, seeded)
    info = SEARCHERS[p.searcher]
    cls = load(info.target)
    options = dict(p.searcher_options)
    if p.search.points_to_evaluate:
        options["points_to_evaluate"] = [dict(point) for point in p.search.points_to_evaluate]
    options.update(extra)
    if p.seed is not None and info.seed_arg:
        options[info.seed_arg] = p.seed
    return cls(**options)


def optuna_searcher(p: TunePlan, seeded: Any) -> Any:
    """raydt's Optuna searcher: define-by-run over the tree, every objective, constraints, the seeded study."""
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


def load(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
