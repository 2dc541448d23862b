"""pydantic's validation errors as SpecIssues: the spec's dotted path, the rule in words, the value, a hint."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from raydt.errors import SpecIssue
from raydt.spec.model import Spec
from raydt.suggest import closest, dns_label

#: Union members pydantic names in error locations -> (the container type that tells the branches apart,
#: whether this is the branch for it): ``int | {min, max}`` by dict, ``str | [str, ...]`` by list.
_UNION_TAGS: dict[str, tuple[type, bool]] = {
    "constrained-int": (dict, False),
    "int": (dict, False),
    "WorkerRange": (dict, True),
    "constrained-float": (dict, False),  # config.costPerHour: a price per node, or {node | cpu | gpu}
    "CostPrices": (dict, True),
    "ReplicaRange": (dict, True),
    "str": (list, False),
    "list[constrained-str]": (list, True),
    "literal['min','max']": (list, False),  # tuneConfig.mode: one mode, or one per metric
    "list[literal['min','max']]": (list, True),
}

_COMPARISONS = (
    ("input should be", "must be"),
    ("greater than or equal to", ">="),
    ("less than or equal to", "<="),
    ("greater than", ">"),
    ("less than", "<"),
)


def untag_unions(errors: list[Any], raw: dict[str, Any]) -> list[Any]:
    """For union fields keep only the errors of the branch the input was meant for, without its tag."""
    kept = []
    for err in errors:
        loc = list(err["loc"])
        tag = next((i for i, part in enumerate(loc) if part in _UNION_TAGS), None)
        if tag is None:
            kept.append(err)
            continue
        value: Any = raw
        for part in loc[:tag]:
            value = value.get(part) if isinstance(value, dict) else None
        container, branch = _UNION_TAGS[loc[tag]]
        if branch == isinstance(value, container):
            kept.append({**err, "loc": tuple(loc[:tag] + loc[tag + 1 :])})
    return kept


def _safe(value: str, allowed: str) -> str:
    """``value`` with every run of characters outside ``allowed`` replaced by '-'."""
    return re.sub(f"[^{allowed}]+", "-", value)


def _name_hint(value: str) -> str:
    fixed = _safe(value, "A-Za-z0-9._-").lstrip("._-")[:128] or "my-run"
    return f"e.g. '{fixed}' (other characters replaced by '-')."


def _dns_hint(limit: int, first: str = "a-z") -> Callable[[str], str]:
    def hint(value: str) -> str:
        fixed = dns_label(value, limit, first)
        return f"e.g. '{fixed}'." if fixed else ""

    return hint


_DNS_RULE = (
    "lowercase letters, digits and '-', starting with a {} and ending with a letter or digit (at most {} characters)"
)


def _route_hint(value: str) -> str:
    return f"e.g. '/{_safe(value, 'A-Za-z0-9._~/-').lstrip('/-')}'."


#: Fields with a ``pattern``: what it allows, in words, and a corrected value as the hint.
_PATTERN_RULES: dict[str, tuple[str, Callable[[str], str]]] = {
    "runConfig.name": (
        "must start with a letter or digit and hold only letters, digits, '.', '_' and '-' (at most 128 characters)",
        _name_hint,
    ),
    "k8sConfig.name": ("must be a DNS-1035 label: " + _DNS_RULE.format("letter", 47), _dns_hint(47)),
    "k8sConfig.namespace": (
        "must be a DNS-1123 label: " + _DNS_RULE.format("letter or digit", 63),
        _dns_hint(63, "a-z0-9"),
    ),
    "k8sConfig.queue": (
        "must be a Kueue LocalQueue name: " + _DNS_RULE.format("letter or digit", 63),
        _dns_hint(63, "a-z0-9"),
    ),
    "k8sConfig.serviceAccount": (
        "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.'",
        _dns_hint(253, "a-z0-9"),
    ),
    "k8sConfig.head.memory": ("must be a Kubernetes quantity (e.g. 4Gi, 8G, 512Mi)", lambda value: "e.g. '4Gi'."),
    "serveConfig.routePrefix": (
        "must start with '/' and hold only letters, digits, '.', '_', '~', '/' and '-'",
        _route_hint,
    ),
}


#: Fields whose every refused value is worded as one rule, with a hint (any kind of error but a missing key).
_FIELD_RULES: dict[str, tuple[str, str]] = {
    "trainConfig.scalingConfig.numWorkers": ("must be an integer >= 1", "Or use config.numWorkers."),
    "trainConfig.scalingConfig.acceleratorType": ("must be a non-empty string", ""),
}


def issue(err: Any) -> SpecIssue:
    """One pydantic error (after ``untag_unions``) as a SpecIssue."""
    loc = tuple(err["loc"])
    path = ".".join(str(p) for p in loc)
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        valid = valid_keys(loc[:-1])
        hint = _loop_key_hint(loc) or closest(str(loc[-1]), valid)
        return SpecIssue(path, _unknown_key_rule(loc[:-1]), str(loc[-1]), hint)
    if kind == "missing":
        return SpecIssue(path, "is required", None, "")
    if path in _FIELD_RULES:
        rule, hint = _FIELD_RULES[path]
        return SpecIssue(path, rule, value, hint)
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        allowed = re.findall(r"'([^']*)'", expected)
        hint = closest(str(value), allowed) if allowed else ""
        return SpecIssue(path, f"must be one of {expected}", value, hint)
    if kind == "model_type":
        return SpecIssue(path, "must be an object", value, "")
    if kind == "string_pattern_mismatch" and path in _PATTERN_RULES:
        rule, hint_of = _PATTERN_RULES[path]
        return SpecIssue(path, rule, value, hint_of(str(value)))
    msg = err["msg"]
    rule = msg[0].lower() + msg[1:] if msg else kind
    for long, short in _COMPARISONS:
        rule = rule.replace(long, short)
    return SpecIssue(path, rule, value, "")


def _loop_key_hint(loc: tuple[Any, ...]) -> str:
    """A training loop's own setting given in trainConfig (``trainConfig.precision``): where it belongs."""
    if len(loc) != 2 or loc[0] != "trainConfig":
        return ""
    from raydt.frameworks.pytorch import USER_PARAMS
    from raydt.registry import FRAMEWORKS

    loop_keys = set(USER_PARAMS)
    for info in FRAMEWORKS.values():
        loop_keys |= set(info.builtin_params) | set(info.param_aliases)
    key = str(loc[1])
    if key not in loop_keys:
        return ""
    return (
        f"'{key}' is a setting of the training loop, not of trainConfig: put it in trainConfig.trainLoopConfig "
        f"(trainLoopConfig: {{{key}: ...}}), or search it in tuneConfig.searchSpace."
    )


def fields_along(loc: tuple[Any, ...]) -> list[tuple[str, FieldInfo]]:
    """The model fields (spec key, pydantic field) an error location passes through, outermost first.

    Stops at the first part that is not a model field: a key of a free-form dict, a list index, a union tag."""
    chain: list[tuple[str, FieldInfo]] = []
    model: type[BaseModel] | None = Spec
    for part in loc:
        found = _field(model, str(part)) if model is not None else None
        if found is None:
            break
        chain.append((str(part), found))
        model = _model_of(found)
    return chain


def valid_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at ``loc`` accepts."""
    model = _model_at(loc)
    return [f.alias or name for name, f in model.model_fields.items()] if model is not None else []


def _unknown_key_rule(loc: tuple[Any, ...]) -> str:
    """How the section at ``loc`` words an unknown key (``StrictModel.UNKNOWN_KEY``)."""
    return str(getattr(_model_at(loc), "UNKNOWN_KEY", "unknown key"))


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    chain = fields_along(loc)
    if len(chain) != len(loc):
        return None
    return _model_of(chain[-1][1]) if chain else Spec


def _field(model: type[BaseModel], alias: str) -> FieldInfo | None:
    return next((f for name, f in model.model_fields.items() if (f.alias or name) == alias), None)


def _model_of(field: FieldInfo) -> type[BaseModel] | None:
    for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None
