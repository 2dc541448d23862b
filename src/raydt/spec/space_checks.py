"""Validation of a search space: the vocabulary and its typed tree live in ``raydt.space``; this module parses
through it with a check that reports every problem at its exact path (rules, hints). Never imports Ray."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raydt import space
from raydt.errors import SpecIssue
from raydt.space import DOMAINS, Group
from raydt.suggest import closest

ROOT = "tuneConfig.searchSpace"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse(raw: dict[str, Any], path: str = ROOT) -> tuple[Group, list[SpecIssue]]:
    """The typed tree of the search space ``raw`` and every problem in it, each with its exact path. A domain
    with a problem is a ``Refused`` node of the tree, so that the rules reading the rest of the space still run."""
    issues: list[SpecIssue] = []

    def usable(domain: Mapping[str, Any], at: str) -> bool:
        found = check_domain(dict(domain), at)
        issues.extend(found)
        return not found

    return space.parse(raw, usable, path), issues


def check(raw: Any, path: str = ROOT) -> list[SpecIssue]:
    """Every problem in the search space ``raw``, each with its exact path."""
    if not isinstance(raw, dict):
        return [SpecIssue(path, "must be an object of hyperparameters", raw)]
    return parse(raw, path)[1]


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
            issues += _check_value(value, f"{path}.values[{i}]", name)
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


def _check_value(value: Any, path: str, owner: str) -> list[SpecIssue]:
    """One choice/grid value: a constant, or (choice only) a branch whose own domains are checked here."""
    if value == {}:
        return [SpecIssue(path, f"a {owner} value must not be an empty object (an empty branch)", value)]
    if (
        owner == "choice"
        and isinstance(value, dict)
        and not space.is_branch_domain(value)
        and space.holds_domain(value)
    ):
        issues: list[SpecIssue] = []

        def usable(domain: Mapping[str, Any], at: str) -> bool:
            found = check_domain(dict(domain), at)
            issues.extend(found)
            return not found

        space.parse(value, usable, path, branch=True)
        return issues + _nested_domains(value, path, owner)
    return _nested_domains(value, path, owner)


def _nested_domains(value: Any, path: str, owner: str, top: bool = True) -> list[SpecIssue]:
    """Domains a value would pass to the trial unsampled: a value that is itself a domain, a domain inside a
    list, any domain inside a grid value. Inside a value only an object whose ``type`` names a domain counts
    as one, so that constants such as ``{"type": "adam"}`` stay constants."""
    if space.is_branch_domain(value):
        if owner == "choice" and not top:
            return []  # a branch's own domain: checked by _check_value
        rule = (
            "a choice value cannot itself be a search domain"
            if owner == "choice"
            else "a grid value cannot hold a search domain (grid values are run as they are)"
        )
        hint = (
            "Wrap it in a branch object, e.g. {name: a, lr: {type: uniform, ...}}: only the chosen branch's "
            "keys are sampled."
            if owner == "choice"
            else "Use a choice for a conditional space (its values may be branches with their own domains)."
        )
        return [SpecIssue(path, rule, value, hint)]
    if isinstance(value, dict):
        return [i for key, item in value.items() for i in _nested_domains(item, f"{path}.{key}", owner, False)]
    if isinstance(value, list) and space.holds_domain(value):
        return [
            SpecIssue(
                path,
                f"a domain inside a list in a {owner} value is never sampled",
                value,
                "Give the searched part a key of its own in the branch object.",
            )
        ]
    return []
