"""The Optuna study a search starts from: an earlier search's finished trials (warm start) and the given
points queued. Imports Optuna (not Ray): built before Ray starts, so a bad warm start fails at once.

Why a study of our own: Ray's ``evaluated_rewards`` take one value per point and refuse a define-by-run
space, and ``Tuner.restore`` cannot seed a new experiment; a study created here, in an in-memory storage
handed to ``OptunaSearch`` (which loads it by name), takes finished trials of any shape (``add_trial``)
and queued points (``enqueue_trial``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna

from raydt.errors import SpecError, SpecIssue
from raydt.plan import TunePlan
from raydt.plan.objectives import Constraint, Objective
from raydt.registry import SEARCHERS
from raydt.search import points, warm
from raydt.space import Categorical, Domain, FloatRange, Group, IntRange

STUDY = "raydt"


@dataclass(frozen=True)
class Seeded:
    """What the searcher starts from: the study's storage (None: not Optuna), warnings, trials given."""

    storage: Any = None
    warnings: list[str] = field(default_factory=list)
    warm_started: int = 0


def seed(p: TunePlan) -> Seeded:
    """The study of an Optuna search (warm start and points); refuses a warm start none of whose trials fit."""
    if not SEARCHERS[p.searcher].seeded_study:
        return Seeded()
    s = p.search
    earlier = warm.finished_trials(s.warm_start) if s.warm_start else []
    try:
        storage, notes, added = study(p.search_space, s.objectives, s.constraints, earlier, s.points_to_evaluate)
    except ValueError as exc:
        hint = "Widen tuneConfig.searchSpace to hold the earlier values, or leave warmStart out."
        path = "tuneConfig.warmStart.experimentPath"
        raise SpecError([SpecIssue(path, f"cannot seed this search: {exc}", s.warm_start, hint)]) from None
    if s.warm_start and not added:
        notes.append(f"warm start: {s.warm_start} has no finished trial with every objective; started cold")
    return Seeded(storage, notes, added)


def distribution(node: Domain) -> Any:
    """The Optuna distribution a domain is sampled from (validation refused grid and normal with Optuna)."""
    if isinstance(node, Categorical):
        return optuna.distributions.CategoricalDistribution(
            list(range(len(node.values))) if points.by_index(node) else list(node.values)
        )
    if isinstance(node, IntRange):
        return optuna.distributions.IntDistribution(node.min, node.max, log=node.log, step=node.q or 1)
    assert isinstance(node, FloatRange)
    step = None if node.log else node.q
    return optuna.distributions.FloatDistribution(node.min, node.max, log=node.log, step=step)


def violations(constraints: Sequence[Constraint], metrics: dict[str, Any]) -> dict[str, float]:
    """Optuna's constraint values by name (<= 0: met), one per bound."""
    out: dict[str, float] = {}
    for i, c in enumerate(constraints):
        for bound, value in zip(("min", "max"), _bounds(c, metrics), strict=True):
            if value is not None:
                out[f"{i}:{c.metric}:{bound}"] = value
    return out


def _bounds(c: Constraint, metrics: dict[str, Any]) -> tuple[float | None, float | None]:
    values = iter(c.violations(metrics))
    return (next(values) if c.min is not None else None, next(values) if c.max is not None else None)


def study(
    tree: Group,
    objectives: Sequence[Objective],
    constraints: Sequence[Constraint],
    earlier: Sequence[warm.EarlierTrial],
    given: Sequence[dict[str, Any]],
) -> tuple[Any, list[str], int]:
    """An in-memory study holding ``earlier`` as finished trials and ``given`` as queued points, and warnings
    (keys outside the space dropped; trials with a value outside it left out). When every earlier trial is
    outside the new space the warm start is refused (ValueError)."""
    storage = optuna.storages.InMemoryStorage()
    directions = ["minimize" if o.mode == "min" else "maximize" for o in objectives]
    st = optuna.create_study(storage=storage, study_name=STUDY, directions=directions)
    warnings: list[str] = []
    dropped: set[str] = set()
    outside: list[str] = []  # earlier trials the new space cannot hold (a narrowed space): left out
    added = 0
    for trial in earlier:
        mapped = points.read(tree, trial.config)
        if mapped.problems:
            path, rule, value = mapped.problems[0]
            outside.append(f"trial {trial.trial_id}'s {path} {rule} (got {value!r})")
            continue
        dropped.update(mapped.dropped)
        values = [trial.last.get(o.metric) for o in objectives]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            warnings.append(f"warm start: trial {trial.trial_id} did not report every objective; left out")
            continue
        frozen = optuna.trial.create_trial(
            values=[float(v) for v in values],  # type: ignore[arg-type]
            params=mapped.params,
            distributions={name: distribution(node) for name, node in mapped.domains.items()},
            constraints=violations(constraints, trial.last) if constraints else None,
        )
        st.add_trial(frozen)
        added += 1
    if outside and len(outside) == len(earlier):  # nothing would seed the search: a mistake, not a narrowing
        raise ValueError(outside[0])
    if outside:
        warnings.append(
            f"warm start: {len(outside)} earlier trial(s) lie outside the new search space and were left out "
            f"(e.g. {outside[0]})"
        )
    if dropped:
        warnings.append(f"warm start: keys outside the new search space were dropped: {', '.join(sorted(dropped))}")
    for point in given:
        st.enqueue_trial(points.read(tree, point).params)
    return storage, warnings, added
