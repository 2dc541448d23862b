"""A search space's JSON read into the typed tree, once, through the allow-list ``DOMAINS``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raydt.space.nodes import DOMAINS, Check, Constant, Domain, Group, Node, Refused


def is_domain(value: Any) -> bool:
    """An object with a string ``type`` key is a domain."""
    return isinstance(value, dict) and isinstance(value.get("type"), str)


def is_branch_domain(value: Any) -> bool:
    """Inside a choice value (a branch) only an object whose ``type`` names a domain is one: ``{"type": "adam"}``
    stays a constant there, as it always was in a choice value."""
    return isinstance(value, dict) and isinstance(value.get("type"), str) and value["type"] in DOMAINS


def holds_domain(value: Any) -> bool:
    """Whether a choice value holds a domain anywhere (then it is a branch of a conditional space)."""
    if is_branch_domain(value):
        return True
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(holds_domain(item) for item in items)


def parse(raw: Mapping[str, Any], check: Check | None = None, path: str = "", branch: bool = False) -> Group:
    """The typed tree of a search space. Without ``check`` (a validated spec) every domain must be buildable
    (``domain`` raises ValueError otherwise); with it, a domain ``check`` refuses becomes a ``Refused`` node.
    ``branch``: ``raw`` is a choice value (``is_branch_domain`` tells its domains)."""
    members: dict[str, Node] = {}
    for key, value in raw.items():
        at = f"{path}.{key}" if path else str(key)
        if is_branch_domain(value) if branch else is_domain(value):
            members[key] = domain(value) if check is None or check(value, at) else Refused(value["type"], value)
        elif isinstance(value, dict) and (not branch or holds_domain(value)):
            members[key] = parse(value, check, at, branch)
        else:
            members[key] = Constant(value)
    return Group(members)


def domain(raw: Mapping[str, Any]) -> Domain:
    """One domain from its JSON, through the allow-list: an unknown type, a missing or an unknown key is a
    ValueError (validation reports each at its path first; this guards the plan)."""
    name = raw.get("type")
    info = DOMAINS.get(name) if isinstance(name, str) else None
    if info is None or not isinstance(name, str):
        raise ValueError(f"unknown domain type {name!r} (valid: {', '.join(DOMAINS)})")
    given = set(raw) - {"type"}
    if given != set(info.keys):
        raise ValueError(f"a '{name}' domain has the keys {', '.join(info.keys)} (got {', '.join(sorted(given))})")
    values = {key: _values(raw[key], name) if key == "values" else raw[key] for key in info.keys}
    return info.cls(name, **values)


def _values(raw: list[Any], name: str) -> tuple[Any, ...]:
    """A choice's values, each value that holds domains parsed as a branch."""
    if name != "choice":
        return tuple(raw)
    return tuple(parse(v, branch=True) if isinstance(v, dict) and holds_domain(v) else v for v in raw)
