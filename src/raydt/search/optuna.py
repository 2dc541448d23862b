"""raydt's Optuna searcher: Ray Tune's ``OptunaSearch`` with the space as a define-by-run function of raydt's
tree (conditional branches sample only the chosen branch's keys), several objectives, constraints told to
the study, and a study seeded with an earlier search's trials and with given points. Imports Ray and Optuna:
loaded only for a run. The study it loads is built by ``raydt.search.optuna_study``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna
from ray.tune.search.optuna import OptunaSearch

from raydt.plan.objectives import Constraint
from raydt.search import points
from raydt.search.optuna_study import distribution, violations
from raydt.space import Categorical, Constant, Domain, FloatRange, Group


class SpaceFunction:
    """The define-by-run space: samples the tree on an Optuna trial and keeps the config it built (the
    searcher returns that, not the flat parameters Ray captures)."""

    def __init__(self, tree: Group) -> None:
        self.tree = tree
        self.last: dict[str, Any] | None = None

    def __call__(self, trial: Any) -> None:
        self.last = _sample(self.tree, trial, "")


def _sample(group: Group, trial: Any, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, node in group.members.items():
        if isinstance(node, Group):
            out[key] = _sample(node, trial, f"{name}{key}.")
        elif isinstance(node, Constant):
            out[key] = node.value
        elif isinstance(node, Domain):
            out[key] = _suggest(node, trial, f"{name}{key}")
    return out


def _suggest(node: Domain, trial: Any, name: str) -> Any:
    if isinstance(node, Categorical):
        if not points.by_index(node):
            return trial.suggest_categorical(name, list(node.values))
        index = trial.suggest_categorical(name, list(range(len(node.values))))
        chosen = node.values[index]
        return _sample(chosen, trial, f"{name}.{index}.") if isinstance(chosen, Group) else chosen
    dist = distribution(node)
    if isinstance(dist, optuna.distributions.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    value = trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(node, FloatRange) and node.log and node.q:  # Optuna has no log scale with a step
        value = min(max(round(value / node.q) * node.q, node.min), node.max)
    return value


class RaydtOptunaSearch(OptunaSearch):  # type: ignore[misc]
    """``OptunaSearch`` over a ``SpaceFunction`` that hands Tune the config the function built and tells the
    study each trial's constraint values before its objectives (Optuna's ``Trial.set_constraint``)."""

    def __init__(self, space: SpaceFunction, constraints: Sequence[Constraint], **options: Any) -> None:
        self.space_function = space
        self.constraints = tuple(constraints)
        super().__init__(space=space, **options)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if super().suggest(trial_id) is None or self.space_function.last is None:
            return None
        return self.space_function.last

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        from raydt.ray_compat import optuna_trial

        trial = optuna_trial(self, trial_id) if result and self.constraints else None
        if trial is not None and result:
            for key, value in violations(self.constraints, result).items():
                trial.set_constraint(key, value)
        super().on_trial_complete(trial_id, result=result, error=error)
