"""A config (a warm-start trial's, or a given point) read against the search space as the parameters a
define-by-run searcher names. Pure Python: validation and the Optuna searcher share it.

Names: a domain at ``a.b`` is the parameter ``a.b``; a choice whose values are not all plain scalars (objects,
branches) is searched by index (``a.b`` = 0, 1, ...), and a branch's domains are ``a.b.<index>.<key>``, so two
branches may hold a key of the same name with different ranges. No ``/``: Ray's OptunaSearch nests the
parameters it captures by ``/`` (raydt returns the config its own function built instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from raydt.space import Categorical, Constant, Domain, FloatRange, Group, IntRange, Normal

_SCALARS = (str, int, float, bool, type(None))


def by_index(node: Categorical) -> bool:
    """Whether the choice is searched by index (a value is an object, a list or a branch)."""
    return not all(isinstance(v, _SCALARS) for v in node.values)


@dataclass
class Mapped:
    """What ``read`` found: the parameters, their domains, and what did not fit the space."""

    params: dict[str, Any] = field(default_factory=dict)  # parameter name -> value (an index for by_index)
    domains: dict[str, Domain] = field(default_factory=dict)  # parameter name -> its domain
    problems: list[tuple[str, str, Any]] = field(default_factory=list)  # (dotted path, rule, value)
    dropped: list[str] = field(default_factory=list)  # dotted paths of keys the space does not have


def read(group: Group, config: dict[str, Any]) -> Mapped:
    """``config``'s values as the searcher's parameters; values outside their domain are problems."""
    mapped = Mapped()
    _walk(group, config, "", "", mapped)
    return mapped


def _walk(group: Group, config: dict[str, Any], name: str, path: str, m: Mapped) -> None:
    m.dropped += [f"{path}{key}" for key in config if key not in group.members]
    for key, node in group.members.items():
        if key not in config or isinstance(node, Constant):
            continue
        value, n, at = config[key], f"{name}{key}", f"{path}{key}"
        if isinstance(node, Group):
            if isinstance(value, dict):
                _walk(node, value, f"{n}.", f"{at}.", m)
            else:
                m.problems.append((at, "must be an object (a group of the search space)", value))
        elif isinstance(node, Domain):
            _read(node, value, n, at, m)


def _read(node: Domain, value: Any, name: str, path: str, m: Mapped) -> None:
    rule = _outside(node, value)
    if rule:
        m.problems.append((path, rule, value))
        return
    if isinstance(node, Categorical) and by_index(node):
        index = _index(node, value)
        if index is None:
            m.problems.append((path, "is not one of the choice's values (nor matches a branch)", value))
            return
        m.params[name], m.domains[name] = index, node
        branch = node.values[index]
        if isinstance(branch, Group):
            _walk(branch, value, f"{name}.{index}.", f"{path}.", m)
        return
    m.params[name], m.domains[name] = value, node


def _outside(node: Domain, value: Any) -> str:
    """Why ``value`` cannot be a sample of ``node`` ('' when it can)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(node, FloatRange | IntRange):
        if not number or (isinstance(node, IntRange) and not isinstance(value, int)):
            return f"must be {'an integer' if isinstance(node, IntRange) else 'a number'} for '{node.type}'"
        if not node.min <= value <= node.max:
            return f"is outside the domain's [{node.min}, {node.max}]"
    if isinstance(node, Normal) and not number:
        return f"must be a number for '{node.type}'"
    if isinstance(node, Categorical) and not by_index(node) and value not in node.values:
        return f"is not one of {list(node.values)}"
    return ""


def _index(node: Categorical, value: Any) -> int | None:
    """The value's index: an equal constant, else the first branch whose constants all match ``value``."""
    for i, option in enumerate(node.values):
        if not isinstance(option, Group) and option == value:
            return i
    for i, option in enumerate(node.values):
        if isinstance(option, Group) and isinstance(value, dict):
            constants = {k: c.value for k, c in option.members.items() if isinstance(c, Constant)}
            if all(value.get(k) == v for k, v in constants.items()):
                return i
    return None
