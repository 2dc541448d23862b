"""A doctor check as plain data, and the readable summary of a list of them (stderr)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["ok", "warn", "fail"]
_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report: ``fix`` is '' when the check passed."""

    name: str
    status: Status
    found: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ok(name: str, found: str) -> Check:
    return Check(name, "ok", found)


def warn(name: str, found: str, fix: str) -> Check:
    return Check(name, "warn", found, fix)


def fail(name: str, found: str, fix: str) -> Check:
    return Check(name, "fail", found, fix)


def summary(checks: list[Check]) -> str:
    """One line per check, the fix indented under a warn or fail, then the counts."""
    lines = []
    for c in checks:
        lines.append(f"[{_MARK[c.status]}] {c.name}: {c.found}")
        if c.fix:
            lines.append(f"         fix: {c.fix}")
    counts = {s: sum(c.status == s for c in checks) for s in ("ok", "warn", "fail")}
    lines.append(f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failed")
    return "\n".join(lines) + "\n"


def gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.1f} GB"
