"""The result's pick of a best trial among a search's trial rows: the feasible ones (constraints), the Pareto
front of several objectives and the member reported as best. Ray-free: it reads the rows ``runners.tune.results``
built (``lastMetrics``: each trial's last report, what the searcher was told).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from raydt.plan.objectives import feasible, pareto_front, pick, vector

if TYPE_CHECKING:
    from raydt.plan import TunePlan


@dataclass(frozen=True)
class Choice:
    """The best row (None: no usable feasible trial), its bestMetric, and what ``results`` says of the pick."""

    index: int | None
    value: float | None
    feasible: int | None = None  # results.feasibleTrials (constraints given)
    front: list[dict[str, Any]] | None = None  # results.paretoFront (several objectives)
    usable: int = 0  # trials that produced the metric (feasible or not)


def choose(p: TunePlan, rows: list[dict[str, Any]]) -> Choice:
    """Single objective: the feasible trial with the best bestMetric (first one on ties). Several: the
    Pareto front of the feasible trials' last reports, and its member with the lowest weighted sum
    (objectiveWeights) or else the best on the first objective; its bestMetric is that report's first value."""
    usable = [i for i, r in enumerate(rows) if r["status"] != "ERROR" and r["bestMetric"] is not None]
    ok = [i for i in usable if feasible(p.search.constraints, rows[i]["lastMetrics"])]
    feasible_trials = len(ok) if p.search.constraints else None
    if not p.search.multi_objective:
        sign = 1.0 if p.train.metric_mode == "min" else -1.0
        best = min(ok, key=lambda i: (sign * rows[i]["bestMetric"], i)) if ok else None
        return Choice(best, rows[best]["bestMetric"] if best is not None else None, feasible_trials, None, len(usable))
    scored = [(i, v) for i in ok if (v := vector(p.search.objectives, rows[i]["lastMetrics"])) is not None]
    points = [v for _, v in scored]
    front = pareto_front(points)
    members = [
        {
            "trialId": rows[scored[k][0]]["trialId"],
            "config": rows[scored[k][0]]["config"],
            "values": {o.metric: rows[scored[k][0]]["lastMetrics"][o.metric] for o in p.search.objectives},
        }
        for k in front
    ]
    if not front:
        return Choice(None, None, feasible_trials, members, len(usable))
    best = scored[pick(points, front, p.search.objective_weights)][0]
    return Choice(best, rows[best]["lastMetrics"][p.train.metric], feasible_trials, members, len(usable))
