"""raydt's search-space vocabulary as typed nodes, and their translation to Ray Tune (the only module that knows
both).

A search space is a JSON object. A value that is an object with a string ``type`` is a *domain*; any other
object is a *group* of nested hyperparameters (``{"optimizer": {"lr": {...}}}``); anything else is a
*constant*. ``DOMAINS`` is the vocabulary (the README's table): each type's class, keys and what it samples.
Every integer type treats ``max`` as inclusive (Ray's own ``randint`` and ``lograndint`` exclude it, and
``qrandint`` excludes it only for q=1: ``IntRange.to_tune`` hides those differences); floats sample [min, max].

A ``choice`` value that holds domains is a *branch* (a ``Group`` among ``Categorical.values``): a conditional
space, where only the chosen branch's keys are sampled; inside a branch only an object whose ``type`` names a
domain is one (``{"type": "adam"}`` stays a constant, as it always was in a choice value).

``parse`` reads the JSON once into a tree (``Group`` of ``Domain``, ``Constant`` and nested ``Group`` nodes)
through the allow-list ``DOMAINS``; the plan, the runners and validation work on that tree. Each domain class
knows its keys, bounds, Ray Tune translation (``to_tune``, importing Ray Tune only when called) and mutation.
Validation (``raydt.spec.space_checks``) parses with a check: a domain it refuses becomes a ``Refused`` node,
so the rules that read the rest of the space still run. ``raydt.spec.schemas`` describes ``DOMAINS`` in
``raydt schema input``.
"""

from raydt.space.nodes import (
    DOMAINS,
    Categorical,
    Check,
    Constant,
    Domain,
    DomainType,
    FloatRange,
    Group,
    IntRange,
    Node,
    Normal,
    Refused,
)
from raydt.space.reading import domain, holds_domain, is_branch_domain, is_domain, parse

__all__ = [
    "DOMAINS",
    "Categorical",
    "Check",
    "Constant",
    "Domain",
    "DomainType",
    "FloatRange",
    "Group",
    "IntRange",
    "Node",
    "Normal",
    "Refused",
    "domain",
    "holds_domain",
    "is_branch_domain",
    "is_domain",
    "parse",
]
