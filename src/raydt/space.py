"""raydt's search-space vocabulary and its translation to Ray Tune (the only module that knows both).

A search space is a JSON object. A value that is an object with a string ``type`` is a *domain*;
any other object is a group of nested hyperparameters (``{"optimizer": {"lr": {...}}}``); anything
else is a constant. Domains:

==============  ==================  ==============================================================
type            keys                samples
==============  ==================  ==============================================================
uniform         min, max            float in [min, max]
quniform        min, max, q         float multiple of q in [min, max]
loguniform      min, max            float in [min, max], log scale (min > 0)
qloguniform     min, max, q         float multiple of q in [min, max], log scale (min > 0)
randint         min, max            int in [min, max]          (max INCLUSIVE)
qrandint        min, max, q         int multiple of q in [min, max]  (max INCLUSIVE)
lograndint      min, max            int in [min, max], log scale (min >= 1, max INCLUSIVE)
normal          mean, sd            float ~ N(mean, sd)
qnormal         mean, sd, q         float ~ N(mean, sd) rounded to a multiple of q
choice          values              one of values
grid            values              every one of values (grid search over this key)
==============  ==================  ==============================================================

Every integer type treats ``max`` as inclusive (Ray's own ``randint`` and ``lograndint`` exclude it,
and ``qrandint`` excludes it only for q=1: raydt hides those differences).

Validation lives in ``raydt.spec.space_checks``. Only ``to_tune`` and ``mutations`` import Ray Tune; the
predicates (``has_mutable``, ``has_bounded``) answer the same questions without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DomainType:
    """One domain type: its keys and what kind of value it yields."""

    keys: tuple[str, ...]
    kind: str  # "float" | "int" | "categorical"
    log: bool = False


DOMAINS: dict[str, DomainType] = {
    "uniform": DomainType(("min", "max"), "float"),
    "quniform": DomainType(("min", "max", "q"), "float"),
    "loguniform": DomainType(("min", "max"), "float", log=True),
    "qloguniform": DomainType(("min", "max", "q"), "float", log=True),
    "randint": DomainType(("min", "max"), "int"),
    "qrandint": DomainType(("min", "max", "q"), "int"),
    "lograndint": DomainType(("min", "max"), "int", log=True),
    "normal": DomainType(("mean", "sd"), "float"),
    "qnormal": DomainType(("mean", "sd", "q"), "float"),
    "choice": DomainType(("values",), "categorical"),
    "grid": DomainType(("values",), "categorical"),
}


def is_domain(value: Any) -> bool:
    """An object with a string ``type`` key is a domain."""
    return isinstance(value, dict) and isinstance(value.get("type"), str)


def walk(space: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted key, value) for every leaf: domains and constants."""
    out: list[tuple[str, Any]] = []
    for key, value in space.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and not is_domain(value):
            out += walk(value, dotted + ".")
        else:
            out.append((dotted, value))
    return out


def domain_types(space: dict[str, Any]) -> set[str]:
    """The domain types a space uses."""
    return {v["type"] for _, v in walk(space) if is_domain(v)}


def to_tune(space: dict[str, Any]) -> dict[str, Any]:
    """The Ray Tune ``param_space`` for ``space`` (imports Ray Tune)."""
    out: dict[str, Any] = {}
    for key, value in space.items():
        if is_domain(value):
            out[key] = _domain(value)
        elif isinstance(value, dict):
            out[key] = to_tune(value)
        else:
            out[key] = value
    return out


def _domain(d: dict[str, Any]) -> Any:
    from ray import tune

    kind = d["type"]
    if kind == "uniform":
        return tune.uniform(d["min"], d["max"])
    if kind == "quniform":
        return tune.quniform(d["min"], d["max"], d["q"])
    if kind == "loguniform":
        return tune.loguniform(d["min"], d["max"])
    if kind == "qloguniform":
        return tune.qloguniform(d["min"], d["max"], d["q"])
    if kind == "randint" or (kind == "qrandint" and d["q"] == 1):
        return tune.randint(d["min"], d["max"] + 1)  # Ray excludes the upper bound
    if kind == "qrandint":
        return tune.qrandint(d["min"], d["max"], d["q"])  # inclusive for q > 1
    if kind == "lograndint":
        return tune.lograndint(d["min"], d["max"] + 1)
    if kind == "normal":
        return tune.randn(d["mean"], d["sd"])
    if kind == "qnormal":
        return tune.qrandn(d["mean"], d["sd"], d["q"])
    if kind == "choice":
        return tune.choice(d["values"])
    return tune.grid_search(d["values"])


def numeric_bounds(space: dict[str, Any]) -> dict[str, Any]:
    """Nested ``{key: [min, max]}`` for bounded numeric domains (PB2's ``hyperparam_bounds``)."""
    out: dict[str, Any] = {}
    for key, value in space.items():
        if is_domain(value) and "min" in value:
            out[key] = [value["min"], value["max"]]
        elif isinstance(value, dict) and not is_domain(value):
            nested = numeric_bounds(value)
            if nested:
                out[key] = nested
    return out


def mutations(space: dict[str, Any]) -> dict[str, Any]:
    """Nested Ray Tune domains of every non-grid domain (PBT's ``hyperparam_mutations``)."""
    out: dict[str, Any] = {}
    for key, value in space.items():
        if is_domain(value) and value["type"] != "grid":
            out[key] = _domain(value)
        elif isinstance(value, dict) and not is_domain(value):
            nested = mutations(value)
            if nested:
                out[key] = nested
    return out


def has_mutable(space: dict[str, Any]) -> bool:
    """Whether PBT has something to mutate: a non-grid domain anywhere (what ``mutations`` keeps), without Ray.

    A domain of an unknown type counts: it is reported on its own, and may well be mutable once fixed."""
    return any(is_domain(v) and v["type"] != "grid" for _, v in walk(space))


def has_bounded(space: dict[str, Any]) -> bool:
    """Whether PB2 has bounds: a domain of a type with min/max (what ``numeric_bounds`` keeps once the space is
    valid). A domain of an unknown type counts, as in ``has_mutable``."""
    return any(is_domain(v) and "min" in DOMAINS.get(v["type"], DOMAINS["uniform"]).keys for _, v in walk(space))
