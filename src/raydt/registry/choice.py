"""The automatic choice of a search's scheduler and searcher, read from the registry's flags (the plan calls it
once; the result's ``searchChoice`` carries its reason). The ladder, first rule that applies:

1. the searcher the spec names;
2. several objectives or a warm start: the first searcher that takes them (``several_objectives``,
   ``seeded_study``);
3. a population-based scheduler: the first searcher that is not model-based (it samples the first population);
4. a space no model-based searcher can sample (grid values): the first searcher that samples it all;
5. a space the default searcher cannot sample (normal domains): the first model-based searcher that can;
6. the default searcher.

The scheduler: the spec's, else the first that does not rank by one metric for several objectives, else the
default; a searcher with a scheduler of its own (``own_scheduler``) brings it when the spec names none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from raydt.registry.tune import DEFAULT_SCHEDULER, DEFAULT_SEARCHER, SCHEDULERS, SEARCHERS, SearcherInfo

GIVEN = "searchAlgorithm given in the spec"
SEVERAL = "several objectives or a warm start: an Optuna study takes them"
GRID = "the space has grid values: Ray's variant generator expands the grid"
UNSAMPLED = "the space has normal domains, which Optuna's TPE cannot sample"
DEFAULT = "default: TPE (model-based), never a plain grid"


@dataclass(frozen=True)
class Choice:
    """What a search runs with, and why this searcher (``reason``)."""

    scheduler: str
    searcher: str
    reason: str


def choose(
    scheduler: str | None, searcher: str | None, *, objectives: int, warm_start: bool, domain_types: Iterable[str]
) -> Choice:
    """The scheduler and searcher of a search: the spec's (``None``: left out), else the automatic ones for
    ``objectives`` objectives, a warm start or none, and a space of ``domain_types``."""
    types = set(domain_types)
    sched = scheduler or (DEFAULT_SCHEDULER if objectives <= 1 else _first_scheduler())
    if searcher:
        algo, reason = searcher, GIVEN
    else:
        algo, reason = _searcher(sched, objectives, warm_start, types)
    own = SEARCHERS[algo].own_scheduler
    if own is not None and scheduler is None:
        sched = own.name
    return Choice(sched, algo, reason)


def _first_scheduler() -> str:
    """A scheduler for several objectives: the first that ranks trials by no single metric."""
    return next(name for name, info in SCHEDULERS.items() if not info.ranks_by_one_metric)


def _searcher(sched: str, objectives: int, warm_start: bool, types: set[str]) -> tuple[str, str]:
    if objectives > 1 or warm_start:
        return _first(
            lambda i: (objectives <= 1 or i.several_objectives) and (i.seeded_study or not warm_start)
        ), SEVERAL
    if SCHEDULERS[sched].population_based:
        reason = f"'{sched}' explores by mutation: random sampling for the initial population"
        return _first(lambda i: not i.model_based), reason
    if not any(i.model_based and samples(i, types) for i in SEARCHERS.values()):
        return _first(lambda i: samples(i, types)), GRID
    if not samples(SEARCHERS[DEFAULT_SEARCHER], types):
        return _first(lambda i: i.model_based and samples(i, types)), UNSAMPLED
    return DEFAULT_SEARCHER, DEFAULT


def samples(info: SearcherInfo, types: set[str]) -> bool:
    """Whether the searcher can sample every domain type of ``types``."""
    return not types & info.unsupported_domains


def _first(fits: Callable[[SearcherInfo], bool]) -> str:
    """The first searcher that fits (the default when none does)."""
    return next((name for name, info in SEARCHERS.items() if fits(info)), DEFAULT_SEARCHER)
