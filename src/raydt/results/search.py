"""Result keys of ``raydt.search``: a multi-objective search's Pareto front (``results.paretoFront``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from raydt.results.fields import Number, ResultModel

PARETO_HELP = (
    "Multi-objective search (tuneConfig.metric a list): the feasible trials no other trial beats on every "
    "objective (last reports). bestConfig/bestMetric/checkpointPath are its member with the lowest "
    "objectiveWeights sum, else the one best on the first metric; bestMetric is that first metric's value."
)


class ParetoMember(ResultModel):
    """A trial on the Pareto front of a multi-objective search."""

    trial_id: str = Field(description="The trial.")
    config: dict[str, Any] = Field(description="Its sampled config.")
    values: dict[str, Number | None] = Field(description="Each objective's value in its last report.")


class SpecChange(ResultModel):
    """One key that differs between a continued search's spec and the earlier one's."""

    key: str = Field(description="The key's dotted path in the spec.")
    old: Any = Field(None, description="Its value in the earlier spec (null: not set).")
    new: Any = Field(None, description="Its value now (null: not set).")


class ContinuedFrom(ResultModel):
    """A warm-started search (``raydt run SPEC --continue-from DIR``, or tuneConfig.warmStart): what it continues."""

    experiment_path: str = Field(description="The earlier search's experiment folder.")
    differences: list[SpecChange] = Field(description="Every spec key that differs from the earlier spec.")
    init_from_best: bool = Field(
        description="New trials started from the nearest earlier trial's checkpoint (warmStart.initFromBest)."
    )
