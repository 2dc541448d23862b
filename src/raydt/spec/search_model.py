"""``tuneConfig``'s keys of ``raydt.search`` (objective weights, constraints, warm start, given points, stopping
rules), kept apart from ``spec.model``; ``TuneConfig`` inherits them. Never imports Ray."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from raydt.spec.strict import StrictModel


class ConstraintSpec(StrictModel):
    """One constraint of a search: a reported metric kept within [min, max] (either bound may be left out)."""

    metric: str = Field(min_length=1, description="A metric every trial reports.")
    min: float | None = Field(None, description="Feasible when metric >= min.")
    max: float | None = Field(None, description="Feasible when metric <= max.")


class WarmStartSpec(StrictModel):
    """``tuneConfig.warmStart``: seed the searcher with an earlier search's finished trials."""

    experiment_path: str = Field(min_length=1, description="The earlier search's experimentPath.")
    init_from_best: bool = Field(
        False,
        description="Start each new trial from the latest checkpoint of the nearest finished earlier trial (its "
        "config's distance; the better metric among equals), read as trainConfig.resumeFromCheckpoint is. Set by "
        "`raydt run SPEC --continue-from DIR --init-from-best`, which allows it only when the specs differ in the "
        "search (searchSpace, numSamples, ...), not in what is trained.",
    )


class SearchKeys(StrictModel):
    """The keys ``TuneConfig`` takes from ``raydt.search`` (``tuneConfig.metric``/``mode`` may be lists there)."""

    objective_weights: list[Annotated[float, Field(ge=0, le=1e12)]] | None = Field(
        None,
        description="Multi-objective: picks bestConfig among the Pareto front by the lowest weighted sum of the "
        "objectives (max objectives counted negated); one weight per metric. Default: the front member best on "
        "the first metric.",
    )
    constraints: list[ConstraintSpec] = Field(
        default_factory=list,
        description="[{metric, min, max}]: a trial whose last report breaks one is infeasible (never best, never "
        "on the front; Optuna is told through its constraints_func).",
    )
    warm_start: WarmStartSpec | None = Field(
        None,
        description="{experimentPath}: every finished trial of an earlier raydt search is given to the searcher "
        "(Optuna) with its results, not run again (results.warmStartedTrials).",
    )
    points_to_evaluate: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Configs (nested like searchSpace, a subset of its keys) run first; the searcher samples "
        "the keys a point leaves out.",
    )
    max_iterations_per_trial: int | None = Field(
        None, ge=1, le=100_000_000, description="Stop each trial after this many reports (training_iteration)."
    )
    stop: dict[str, float] = Field(
        default_factory=dict,
        description="Per-trial stop thresholds, as Ray's stop dict: a trial stops once a reported metric is >= "
        "its value (training_iteration and time_total_s work too).",
    )
    max_failed_trials: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="End the search (status partial, endReason MAX_FAILED_TRIALS) once this many trials failed.",
    )
