"""The search space's typed nodes (``Domain`` and its kinds, ``Group``, ``Constant``, ``Refused``), the vocabulary
``DOMAINS`` that names them, and their translation to Ray Tune (imported only when called)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Domain:
    """One searched hyperparameter; ``type`` is its name in ``DOMAINS``."""

    type: str
    KIND: ClassVar[str] = ""  # "float" | "int" | "categorical"

    @property
    def log(self) -> bool:
        return DOMAINS[self.type].log

    @property
    def mutable(self) -> bool:
        """PBT may mutate it (every domain but a grid)."""
        return True

    @property
    def bounded(self) -> bool:
        return self.bounds() is not None

    def bounds(self) -> list[Any] | None:
        """[min, max] for a numeric range (PB2's ``hyperparam_bounds``), else None."""
        return None

    def to_tune(self) -> Any:
        """The Ray Tune domain (imports Ray Tune)."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, **{key: getattr(self, key) for key in DOMAINS[self.type].keys}}


@dataclass(frozen=True)
class FloatRange(Domain):
    """uniform, quniform, loguniform, qloguniform: a float in [min, max] (a multiple of q when given)."""

    min: float
    max: float
    q: float | None = None
    KIND: ClassVar[str] = "float"

    def bounds(self) -> list[Any] | None:
        return [self.min, self.max]

    def to_tune(self) -> Any:
        from ray import tune

        if self.q is None:
            return (tune.loguniform if self.log else tune.uniform)(self.min, self.max)
        return (tune.qloguniform if self.log else tune.quniform)(self.min, self.max, self.q)


@dataclass(frozen=True)
class IntRange(Domain):
    """randint, qrandint, lograndint: an int in [min, max], max INCLUSIVE (a multiple of q when given)."""

    min: int
    max: int
    q: int | None = None
    KIND: ClassVar[str] = "int"
    MAX_INCLUSIVE: ClassVar[bool] = True

    def bounds(self) -> list[Any] | None:
        return [self.min, self.max]

    def to_tune(self) -> Any:
        from ray import tune

        if self.q is not None and self.q > 1:
            return tune.qrandint(self.min, self.max, self.q)  # Ray includes max for q > 1
        return (tune.lograndint if self.log else tune.randint)(self.min, self.max + 1)  # Ray excludes max


@dataclass(frozen=True)
class Normal(Domain):
    """normal, qnormal: a float ~ N(mean, sd) (rounded to a multiple of q when given); unbounded."""

    mean: float
    sd: float
    q: float | None = None
    KIND: ClassVar[str] = "float"

    def to_tune(self) -> Any:
        from ray import tune

        return tune.randn(self.mean, self.sd) if self.q is None else tune.qrandn(self.mean, self.sd, self.q)


@dataclass(frozen=True)
class Categorical(Domain):
    """choice (one of values) and grid (every one of values: Ray's grid search). A choice value that holds
    domains is a *branch* (a ``Group``): a conditional space, where only the chosen branch's keys are sampled."""

    values: tuple[Any, ...]
    KIND: ClassVar[str] = "categorical"

    @property
    def mutable(self) -> bool:
        return self.type != "grid"

    @property
    def conditional(self) -> bool:
        return any(isinstance(v, Group) for v in self.values)

    def to_tune(self) -> Any:
        from ray import tune

        values = [v.to_tune() if isinstance(v, Group) else v for v in self.values]
        return tune.grid_search(values) if self.type == "grid" else tune.choice(values)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "values": [v.to_json() if isinstance(v, Group) else v for v in self.values]}


@dataclass(frozen=True)
class DomainType:
    """One name of the vocabulary: the class that holds it, its keys (all required), log scale, what it samples."""

    cls: type[Domain]
    keys: tuple[str, ...]
    samples: str
    log: bool = False

    @property
    def kind(self) -> str:
        return self.cls.KIND


#: The allow-list: every domain type a spec may name, in the order the docs list them.
DOMAINS: dict[str, DomainType] = {
    "uniform": DomainType(FloatRange, ("min", "max"), "float in [min, max]"),
    "quniform": DomainType(FloatRange, ("min", "max", "q"), "float multiple of q in [min, max]"),
    "loguniform": DomainType(FloatRange, ("min", "max"), "float in [min, max], log scale (min > 0)", log=True),
    "qloguniform": DomainType(FloatRange, ("min", "max", "q"), "float multiple of q in [min, max], log scale", True),
    "randint": DomainType(IntRange, ("min", "max"), "int in [min, max], max inclusive"),
    "qrandint": DomainType(IntRange, ("min", "max", "q"), "int multiple of q in [min, max], max inclusive"),
    "lograndint": DomainType(IntRange, ("min", "max"), "int in [min, max], log scale, max inclusive", log=True),
    "normal": DomainType(Normal, ("mean", "sd"), "float ~ N(mean, sd)"),
    "qnormal": DomainType(Normal, ("mean", "sd", "q"), "float ~ N(mean, sd) rounded to a multiple of q"),
    "choice": DomainType(Categorical, ("values",), "one of values (an object holding domains is a branch)"),
    "grid": DomainType(Categorical, ("values",), "every one of values (grid search over this key)"),
}


@dataclass(frozen=True)
class Refused:
    """A domain validation refused (only in a tree that ``spec.space_checks`` parsed). Whether it would be
    mutable or bounded once fixed is judged from its type; an unknown type counts as both."""

    type: str
    raw: Mapping[str, Any]

    @property
    def mutable(self) -> bool:
        return self.type != "grid"

    @property
    def bounded(self) -> bool:
        info = DOMAINS.get(self.type)
        return info is None or "min" in info.keys


@dataclass(frozen=True)
class Constant:
    """A fixed value, passed to every trial as it is."""

    value: Any


@dataclass(frozen=True)
class Group:
    """An object of nested hyperparameters; the root of a parsed search space is one."""

    members: Mapping[str, Node]

    def leaves(self, prefix: str = "") -> Iterator[tuple[str, Domain | Refused | Constant]]:
        """(dotted key, node) for every domain and constant, depth first."""
        for key, node in self.members.items():
            if isinstance(node, Group):
                yield from node.leaves(f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", node

    def domains(self) -> list[tuple[str, Domain | Refused]]:
        return [(key, node) for key, node in self.leaves() if not isinstance(node, Constant)]

    def domain_types(self) -> set[str]:
        """The domain types the space uses, inside branches too (refused ones included)."""
        return {node.type for _, node in self.walk()}

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Domain | Refused]]:
        """(path, domain) of every domain, depth first, into branches (``key.values[i].member``)."""
        for key, node in self.domains():
            yield f"{prefix}{key}", node
            if isinstance(node, Categorical):
                for i, value in enumerate(node.values):
                    if isinstance(value, Group):
                        yield from value.walk(f"{prefix}{key}.values[{i}].")

    @property
    def conditional(self) -> bool:
        """Whether a choice holds branches with domains of their own."""
        return any(isinstance(node, Categorical) and node.conditional for _, node in self.walk())

    @property
    def has_mutable(self) -> bool:
        """Whether PBT has something to mutate (what ``mutations`` keeps, or a refused domain that may be)."""
        return any(node.mutable for _, node in self.domains())

    @property
    def has_bounded(self) -> bool:
        """Whether PB2 has bounds (what ``bounds`` keeps, or a refused domain that may have them)."""
        return any(node.bounded for _, node in self.domains())

    def grid_points(self) -> int:
        """Configurations Ray's grid search expands one sample into (1 without grid domains)."""
        return math.prod(len(n.values) for _, n in self.domains() if isinstance(n, Categorical) and n.type == "grid")

    def to_tune(self) -> dict[str, Any]:
        """Ray Tune's ``param_space`` (imports Ray Tune)."""
        return {key: _tune(node) for key, node in self.members.items()}

    def mutations(self) -> dict[str, Any]:
        """Nested Ray Tune domains of every mutable domain (PBT's ``hyperparam_mutations``)."""
        return self._nested(lambda d: d.to_tune() if d.mutable else None)

    def bounds(self) -> dict[str, Any]:
        """Nested ``{key: [min, max]}`` of the numeric ranges (PB2's ``hyperparam_bounds``)."""
        return self._nested(lambda d: d.bounds())

    def to_json(self) -> dict[str, Any]:
        """The JSON the tree was parsed from."""
        return {key: _json(node) for key, node in self.members.items()}

    def _nested(self, pick: Callable[[Domain], Any]) -> dict[str, Any]:
        """``pick`` of every domain (None: left out), nested as the groups are; empty groups are left out."""
        out: dict[str, Any] = {}
        for key, node in self.members.items():
            value = None
            if isinstance(node, Group):
                value = node._nested(pick) or None
            elif isinstance(node, Domain):
                value = pick(node)
            if value is not None:
                out[key] = value
        return out


Node = Domain | Refused | Constant | Group
#: A validation hook for ``parse``: (the domain's JSON, its dotted path) -> whether it may be built.
Check = Callable[[Mapping[str, Any], str], bool]


def _tune(node: Node) -> Any:
    if isinstance(node, Domain | Group):
        return node.to_tune()
    if isinstance(node, Refused):
        raise ValueError(f"the '{node.type}' domain was refused by validation")
    return node.value


def _json(node: Node) -> Any:
    if isinstance(node, Domain | Group):
        return node.to_json()
    return dict(node.raw) if isinstance(node, Refused) else node.value
