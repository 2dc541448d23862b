"""``config.costPerHour``: the prices of a run, and what a stretch of time costs at them (pure; no Ray).

raydt names no currency: every figure is in the units ``costPerHour`` is given in ("units of costPerHour"). A
number, or ``{node}``, prices each node of the cluster the run holds; ``{cpu, gpu}`` prices each CPU and GPU the
run reserves (its workers, times the trials that run at once). ``raydt plan`` multiplies by the estimated wall
time, a finished run by its measured wall time (``results.cost``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from raydt.spec.model import Spec

#: How every figure is expressed (raydt names no currency).
UNIT = "units of config.costPerHour"
BASIS = "measured wall time x reserved resources"


@dataclass(frozen=True)
class Prices:
    """Per hour: one node, or one reserved CPU and one reserved GPU."""

    node: float | None = None
    cpu: float | None = None
    gpu: float | None = None

    def describe(self) -> dict[str, float]:
        """The prices given, as ``{node | cpu | gpu: price}``."""
        return {k: v for k, v in (("node", self.node), ("cpu", self.cpu), ("gpu", self.gpu)) if v is not None}


def prices(spec: Spec) -> Prices | None:
    """``config.costPerHour`` of a (valid) spec; None when it is not set."""
    given = spec.config.cost_per_hour
    if given is None:
        return None
    if isinstance(given, float | int):
        return Prices(node=float(given))
    return Prices(given.node, given.cpu, given.gpu)


def per_hour(p: Prices, nodes: int, reserved: dict[str, float]) -> float:
    """What an hour of the run costs: ``nodes`` x the node price, or the reserved CPUs and GPUs at theirs."""
    if p.node is not None:
        return p.node * nodes
    return (p.cpu or 0.0) * reserved.get("CPU", 0.0) + (p.gpu or 0.0) * reserved.get("GPU", 0.0)


def billed(p: Prices, nodes: int, reserved: dict[str, float]) -> dict[str, float]:
    """What the price applies to: ``{nodes}`` with a node price, else the reserved ``{cpu, gpu}`` it prices."""
    if p.node is not None:
        return {"nodes": float(nodes)}
    out = {"cpu": reserved.get("CPU", 0.0)} if p.cpu is not None else {}
    return out | ({"gpu": reserved.get("GPU", 0.0)} if p.gpu is not None else {})


def cost(p: Prices, nodes: int, reserved: dict[str, float], seconds: float, *, spent: bool) -> dict[str, Any]:
    """``results.cost`` (``spent``: measured) or the estimate of ``raydt plan`` (``estimated``), camelCase."""
    rate = per_hour(p, nodes, reserved)
    return {
        "perHour": round(rate, 6),
        "spent" if spent else "estimated": round(rate * seconds / 3600.0, 6),
        "wallTimeS": round(seconds, 3),
        "prices": p.describe(),
        "billed": billed(p, nodes, reserved),
        "unit": UNIT,
        "basis": BASIS if spent else "estimated wall time x reserved resources",
    }
