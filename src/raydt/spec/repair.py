"""When pydantic refuses values, drop them from a copy of the spec so that their defaults apply and the model
can still be built: the cross-field checks then run on it, and those that read a dropped value wait for it
(``spec.waiting``) instead of judging the default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from raydt.spec.model import Spec
from raydt.spec.pydantic_issues import fields_along, untag_unions, valid_keys
from raydt.suggest import close_match

#: Required top-level fields have no default to fall back on: a stand-in, blocked like a dropped value.
_STAND_INS: dict[str, Any] = {"mode": "train", "config": {}}
_ROUNDS = 4  # dropping a value never creates a new error; the bound only guards against a surprise


@dataclass(frozen=True)
class Repaired:
    """The model built without the refused values (None if it still cannot be built)."""

    spec: Spec | None
    raw: dict[str, Any]  # the copy it was built from
    dropped: dict[str, str]  # dropped (or stood-in, or misspelt-for) path -> the reported path


def repair(raw: dict[str, Any], errors: list[Any]) -> Repaired:
    """``raw`` without the values behind ``errors`` (pydantic's, after ``untag_unions``)."""
    work = _copy(raw)
    dropped: dict[str, str] = {}
    for _ in range(_ROUNDS):
        for err in errors:
            _drop(work, err, dropped)
        try:
            return Repaired(Spec.model_validate(work), work, dropped)
        except ValidationError as exc:
            errors = untag_unions(exc.errors(include_url=False), work)
    return Repaired(None, work, dropped)


def _drop(work: dict[str, Any], err: Any, dropped: dict[str, str]) -> None:
    loc = tuple(str(part) for part in err["loc"])
    reported = ".".join(loc)
    if err["type"] == "extra_forbidden":
        parent = _get(work, loc[:-1])
        if isinstance(parent, dict):
            parent.pop(loc[-1], None)
            meant = close_match(loc[-1], valid_keys(loc[:-1]))
            if meant is not None and meant not in parent:  # the key it misspells is left at its default
                dropped.setdefault(".".join((*loc[:-1], meant)), reported)
        return
    chain = fields_along(loc)
    for depth in range(len(chain), 0, -1):  # the innermost field that has a default
        if not chain[depth - 1][1].is_required():
            at = tuple(key for key, _ in chain[:depth])
            parent = _get(work, at[:-1])
            if isinstance(parent, dict):
                parent.pop(at[-1], None)
            dropped.setdefault(".".join(at), reported)
            return
    if chain and chain[0][0] in _STAND_INS:
        top = chain[0][0]
        work[top] = _copy(_STAND_INS[top])
        dropped.setdefault(top, reported)


def _copy(data: Any) -> Any:
    """A copy of the spec's dicts and lists (only they are changed), sharing everything else."""
    if isinstance(data, dict):
        return {key: _copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_copy(value) for value in data]
    return data


def _get(data: Any, loc: tuple[str, ...]) -> Any:
    for part in loc:
        data = data.get(part) if isinstance(data, dict) else None
    return data
