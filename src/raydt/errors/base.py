"""The base of the hierarchy: exit codes, ``SpecIssue`` (one problem in a spec) and ``RaydtError``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

EXIT_SUCCESS = 0
EXIT_RUN_ERROR = 1
EXIT_SPEC_ERROR = 2
EXIT_PARTIAL = 3


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec: where (dotted path), which rule, what was given, what to do."""

    path: str
    rule: str
    value: Any = None
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path or '<spec>'}: {self.rule}"
        if self.value is not None:
            text += f" (got {_short(self.value)})"
        if self.hint:
            text += f"; hint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["value"] = _jsonable(self.value)
        return data


class RaydtError(Exception):
    """Base of every error raydt reports; carries a stable ``code``, an exit code and a hint."""

    code = "INTERNAL"
    exit_code = EXIT_RUN_ERROR
    details: dict[str, Any] | None = None  # extra context for error.details (traceback tail, paths)
    default_hint = "This is a bug in raydt; please report it with the spec that caused it."

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` object of the JSON result."""
        data: dict[str, Any] = {"code": self.code, "message": self.message, "hint": self.hint}
        if self.details:
            data["details"] = {k: v for k, v in self.details.items() if v is not None}
        return data


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return _short(value)
