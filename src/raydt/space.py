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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from raydt.errors import SpecIssue


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


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check(space: Any, path: str = "tuneConfig.searchSpace") -> list[SpecIssue]:
    """Every problem in ``space``, each with its exact path."""
    if not isinstance(space, dict):
        return [SpecIssue(path, "must be an object of hyperparameters", space)]
    issues: list[SpecIssue] = []
    for key, value in space.items():
        sub = f"{path}.{key}"
        if is_domain(value):
            issues += check_domain(value, sub)
        elif isinstance(value, dict):
            issues += check(value, sub)
    return issues


def check_domain(domain: dict[str, Any], path: str) -> list[SpecIssue]:
    """Problems of one domain object."""
    from raydt.spec.checks import closest

    name = domain["type"]
    spec = DOMAINS.get(name)
    if spec is None:
        return [SpecIssue(f"{path}.type", "unknown domain type", name, closest(name, list(DOMAINS)))]
    issues = [
        SpecIssue(f"{path}.{k}", f"is not a key of a '{name}' domain", k, f"Keys: type, {', '.join(spec.keys)}.")
        for k in domain
        if k != "type" and k not in spec.keys
    ]
    missing = [k for k in spec.keys if k not in domain]
    issues += [SpecIssue(f"{path}.{k}", f"is required for a '{name}' domain", None, "") for k in missing]
    if missing:
        return issues
    if spec.kind == "categorical":
        values = domain["values"]
        if not isinstance(values, list) or not values:
            issues.append(SpecIssue(f"{path}.values", "must be a non-empty list", values))
        return issues
    numbers = ("mean", "sd", "q") if "mean" in spec.keys else ("min", "max", "q")
    for k in numbers:
        if k in domain and not _is_number(domain[k]):
            issues.append(SpecIssue(f"{path}.{k}", "must be a number", domain[k]))
    if issues:
        return issues
    if spec.kind == "int":
        for k in ("min", "max", "q"):
            if k in domain and not _is_int(domain[k]):
                issues.append(SpecIssue(f"{path}.{k}", f"must be an integer for '{name}'", domain[k]))
    if "q" in domain and domain["q"] <= 0:
        issues.append(SpecIssue(f"{path}.q", "must be > 0", domain["q"]))
    if "sd" in domain and domain["sd"] <= 0:
        issues.append(SpecIssue(f"{path}.sd", "must be > 0", domain["sd"]))
    if "min" in domain and domain["min"] >= domain["max"]:
        issues.append(SpecIssue(f"{path}.min", "must be < max", domain["min"], f"max is {domain['max']!r}; swap them?"))
    if spec.log and "min" in domain and domain["min"] <= 0:
        issues.append(SpecIssue(f"{path}.min", f"must be > 0 for '{name}' (log scale)", domain["min"]))
    if "q" in domain and "min" in domain and not issues and domain["q"] > domain["max"] - domain["min"]:
        issues.append(SpecIssue(f"{path}.q", "must not exceed max - min", domain["q"]))
    return issues


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
