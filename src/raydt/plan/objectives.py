"""Objectives and constraints of a search, Pareto dominance and the pick of one best trial. Pure Python.

Every rule here reads a trial's *last* report: that is what Ray Tune hands the searcher when a trial
completes (Optuna's multi-objective study is told those values), so the front the result shows is the one
the searcher saw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Optuna's constraints_func needs a number for a metric a trial never reported: far outside any bound.
MISSING_VIOLATION = 1e18


@dataclass(frozen=True)
class Objective:
    """One metric the search optimises, and whether lower (min) or higher (max) is better."""

    metric: str
    mode: str

    def signed(self, value: float) -> float:
        """The value as a quantity to minimise."""
        return value if self.mode == "min" else -value


@dataclass(frozen=True)
class Constraint:
    """A reported metric kept within [min, max]; a missing bound is open."""

    metric: str
    min: float | None = None
    max: float | None = None

    def violations(self, metrics: Mapping[str, Any]) -> list[float]:
        """One number per bound, <= 0 when it holds (Optuna's convention for constraints_func)."""
        raw = metrics.get(self.metric)
        if not _finite(raw):
            return [MISSING_VIOLATION for bound in (self.min, self.max) if bound is not None]
        value = float(raw)  # type: ignore[arg-type]  # _finite: a number
        out = []
        if self.min is not None:
            out.append(self.min - value)
        if self.max is not None:
            out.append(value - self.max)
        return out

    def describe(self) -> str:
        low = "" if self.min is None else f"{self.min:g} <= "
        high = "" if self.max is None else f" <= {self.max:g}"
        return f"{low}{self.metric}{high}"


def feasible(constraints: Sequence[Constraint], metrics: Mapping[str, Any]) -> bool:
    """Whether ``metrics`` (a trial's last report) meets every constraint."""
    return all(v <= 0 for c in constraints for v in c.violations(metrics))


def vector(objectives: Sequence[Objective], metrics: Mapping[str, Any]) -> list[float] | None:
    """The objectives' values in ``metrics``, as quantities to minimise (None: one is missing or not finite)."""
    values = [metrics.get(o.metric) for o in objectives]
    if not all(_finite(v) for v in values):
        return None
    return [o.signed(float(v)) for o, v in zip(objectives, values, strict=True)]  # type: ignore[arg-type]


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """``a`` is no worse than ``b`` on every objective and better on one (both minimised)."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(x < y for x, y in zip(a, b, strict=True))


def pareto_front(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the points no other point dominates (equal points are all kept), in input order."""
    return [i for i, p in enumerate(points) if not any(dominates(q, p) for j, q in enumerate(points) if j != i)]


def pick(points: Sequence[Sequence[float]], front: Sequence[int], weights: Sequence[float] | None) -> int:
    """The front member with the lowest weighted sum (``weights``), else the one best on the first objective
    (ties: the next objectives)."""
    if weights is not None:
        return min(front, key=lambda i: (sum(w * x for w, x in zip(weights, points[i], strict=True)), i))
    return min(front, key=lambda i: (*points[i], i))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def objectives_of(metric: Any, mode: Any, default_metric: str, default_mode: str) -> tuple[Objective, ...]:
    """tuneConfig.metric/mode as objectives: one for a single metric, one per metric of a (validated) list; a
    single mode applies to every metric."""
    metrics = metric if isinstance(metric, list) else [metric or default_metric]
    modes = mode if isinstance(mode, list) else [mode or default_mode] * len(metrics)
    return tuple(Objective(m, o) for m, o in zip(metrics, modes, strict=True))
