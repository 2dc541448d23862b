"""The search algorithm, the scheduler and the param_space a search hands Ray Tune, built from the plan.
Imports Ray Tune (and the searcher's library) only when called."""

from __future__ import annotations

from typing import Any

from raydt.plan import TunePlan
from raydt.registry import SCHEDULERS, SEARCHERS, load
from raydt.results import Document


def scheduler(p: TunePlan) -> Any:
    own = SEARCHERS[p.searcher].own_scheduler  # e.g. BOHB's HyperBand: the searcher's own variant of the class
    if own is not None and own.name == p.scheduler:
        return load(own.target)(**p.scheduler_options)
    info = SCHEDULERS[p.scheduler]
    return load(info.build)(p, info) if info.build is not None else load(info.target)(**p.scheduler_options)


def add_seeded(out: Document, p: TunePlan, seeded: Any) -> None:
    """Warm-started trials (counted apart from the trials run) and the warm start's warnings."""
    if p.search.warm_start and seeded is not None:
        out.results.warm_started_trials = seeded.warm_started
    if p.search.warm_start:
        from raydt.experiment.continuation import summary
        from raydt.results.search import ContinuedFrom

        found = summary(p.search.warm_start, p.train.experiment_path, p.search.init_from_best)
        out.results.continued_from = ContinuedFrom.model_validate(found)
    if seeded is not None and seeded.warnings:
        out.warnings = [*(out.warnings or []), *seeded.warnings]


def param_space(p: TunePlan) -> dict[str, Any]:
    """Tune's param_space: empty for a define-by-run searcher (Optuna's function samples the whole space)."""
    return {} if SEARCHERS[p.searcher].define_by_run else p.search_space.to_tune()


def searcher(p: TunePlan, cap: int, seeded: Any = None) -> Any:
    """``cap``: trials the searcher starts at once (0: no cap). The cap is an attribute ``max_concurrent``
    of the object returned (a ConcurrencyLimiter, or the random searcher's own), which
    ``runners.tune.memory`` lowers while the search runs."""
    if SEARCHERS[p.searcher].takes_cap:  # e.g. a SearchGenerator: Tune's wrapper would ignore the cap
        return _searcher(p, seeded, {"max_concurrent": cap})
    found = _searcher(p, seeded, {})
    if not cap:
        return found
    from ray.tune.search import ConcurrencyLimiter

    return ConcurrencyLimiter(found, max_concurrent=cap)  # what TuneConfig.max_concurrent_trials would make


def _searcher(p: TunePlan, seeded: Any, extra: dict[str, Any]) -> Any:
    info = SEARCHERS[p.searcher]
    if info.build is not None:
        return load(info.build)(p, info, seeded)
    cls = load(info.target)
    options = dict(p.searcher_options)
    if p.search.points_to_evaluate:
        options["points_to_evaluate"] = [dict(point) for point in p.search.points_to_evaluate]
    options.update(extra)
    if p.seed is not None and info.seed_arg:
        options[info.seed_arg] = p.seed
    return cls(**options)
