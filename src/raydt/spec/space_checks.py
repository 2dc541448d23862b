"""Validation of a search space (the vocabulary lives in ``raydt.space``). Never imports Ray."""

from __future__ import annotations

from typing import Any

from raydt.errors import SpecIssue
from raydt.space import DOMAINS, is_domain
from raydt.suggest import closest

ROOT = "tuneConfig.searchSpace"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check(space: Any, path: str = ROOT) -> list[SpecIssue]:
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


def broken_keys(space: dict[str, Any], issues: list[SpecIssue]) -> set[str]:
    """The dotted keys (as ``space.walk`` names them) of the domains that have a problem in ``issues``."""
    paths = [i.path for i in issues]
    out = set()
    for key in _domain_keys(space):
        at = f"{ROOT}.{key}"
        if any(p == at or p.startswith((at + ".", at + "[")) for p in paths):
            out.add(key)
    return out


def _domain_keys(space: dict[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key, value in space.items():
        if is_domain(value):
            out.append(f"{prefix}{key}")
        elif isinstance(value, dict):
            out += _domain_keys(value, f"{prefix}{key}.")
    return out


def check_domain(domain: dict[str, Any], path: str) -> list[SpecIssue]:
    """Problems of one domain object."""
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
        for i, value in enumerate(values):
            issues += _nested_domains(value, f"{path}.values[{i}]", name)
        return issues
    return issues + _check_numbers(domain, name, path)


def _check_numbers(domain: dict[str, Any], name: str, path: str) -> list[SpecIssue]:
    spec = DOMAINS[name]
    issues: list[SpecIssue] = []
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


def _nested_domains(value: Any, path: str, owner: str) -> list[SpecIssue]:
    """A choice/grid value is passed to the trial as it is: a domain inside it would never be sampled.

    Inside a value only an object whose ``type`` names a domain counts as one, so that constants such as
    ``{"type": "adam"}`` stay constants."""
    if isinstance(value, dict) and isinstance(value.get("type"), str) and value["type"] in DOMAINS:
        return [
            SpecIssue(
                path,
                f"a {owner} value cannot hold a search domain (conditional search spaces are not supported yet)",
                value,
                "Make the searched part a separate key of tuneConfig.searchSpace, or list the concrete "
                "combinations as values (plain objects, e.g. {activation: relu, mult: 1.5}).",
            )
        ]
    if isinstance(value, dict):
        return [issue for key, item in value.items() for issue in _nested_domains(item, f"{path}.{key}", owner)]
    if isinstance(value, list):
        return [issue for i, item in enumerate(value) for issue in _nested_domains(item, f"{path}[{i}]", owner)]
    return []
