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
