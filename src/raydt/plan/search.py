"""``tuneConfig``'s ``raydt.search`` keys as the plan carries them (``TunePlan.search``). Pure Python."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from raydt import paths
from raydt.plan.objectives import Constraint, Objective, objectives_of

if TYPE_CHECKING:
    from raydt.spec.model import TuneConfig


@dataclass(frozen=True)
class SearchSettings:
    """Objectives (the first is the plan's metric), constraints, warm start, points and stopping rules."""

    objectives: tuple[Objective, ...] = ()
    objective_weights: tuple[float, ...] | None = None
    constraints: tuple[Constraint, ...] = ()
    warm_start: str | None = None  # the earlier experiment's folder (absolute)
    init_from_best: bool = False  # each new trial starts from the nearest earlier trial's checkpoint
    points_to_evaluate: tuple[dict[str, Any], ...] = ()
    max_iterations_per_trial: int | None = None
    trial_stop: dict[str, float] = field(default_factory=dict)  # Ray's stop dict: metric >= value stops a trial
    max_failed_trials: int | None = None

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @property
    def required_metrics(self) -> list[str]:
        """Metrics every trial must report: the objectives and the constrained ones."""
        return list(dict.fromkeys([o.metric for o in self.objectives] + [c.metric for c in self.constraints]))


def settings(tc: TuneConfig, default_metric: str, default_mode: str, base_dirs: tuple[Path, ...]) -> SearchSettings:
    """The validated ``tc`` resolved: objectives with the framework's defaults, the warm start's absolute path."""
    return SearchSettings(
        objectives=objectives_of(tc.metric, tc.mode, default_metric, default_mode),
        objective_weights=tuple(tc.objective_weights) if tc.objective_weights is not None else None,
        constraints=tuple(Constraint(c.metric, c.min, c.max) for c in tc.constraints),
        warm_start=str(paths.resolve(tc.warm_start.experiment_path, base_dirs)) if tc.warm_start else None,
        init_from_best=bool(tc.warm_start and tc.warm_start.init_from_best),
        points_to_evaluate=tuple(tc.points_to_evaluate),
        max_iterations_per_trial=tc.max_iterations_per_trial,
        trial_stop=dict(tc.stop),
        max_failed_trials=tc.max_failed_trials,
    )
