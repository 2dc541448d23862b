"""Which checks wait for a broken field, so that validation reports every independent problem at once.

A field is *blocked* when its value cannot be trusted: pydantic refused it (the loader dropped it so that
its default applies, see ``spec.repair``), or a cross-field check found it unusable (an unknown scheduler).
A check that reads a blocked field skips itself (its verdict would judge the default, not what the user
meant) and is recorded; each blocking field that made something wait gets one issue line saying so.
"""

from __future__ import annotations

from raydt.errors import SpecIssue

WAITS = "checks that depend on this field run once it is fixed"


def _related(a: str, b: str) -> bool:
    """One dotted path is the other, or lies under it."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + ".") or path.startswith(root + "[")


class Waiting:
    """Blocked fields (dotted spec paths) and the checks that waited for them."""

    def __init__(self, dropped: dict[str, str] | None = None) -> None:
        #: blocked path -> the path whose problem was reported (a field, or one under it, or a misspelt key)
        self._blocked: dict[str, str] = dict(dropped or {})
        self._dropped = frozenset(self._blocked)
        self._waiting: dict[str, set[str]] = {}

    def block(self, field: str) -> None:
        """``field`` holds a value the cross-field checks found unusable (already reported)."""
        self._blocked.setdefault(field, field)

    def is_blocked(self, *fields: str) -> bool:
        """Whether one of ``fields`` (or a part of one) is blocked; records nothing."""
        return any(_related(field, blocked) for blocked in self._blocked for field in fields)

    def waits(self, dependant: str, *fields: str) -> bool:
        """True when a check reporting at ``dependant`` reads a blocked field (or a part of one): skip it.

        The wait is recorded unless ``dependant`` lies under the reported field itself (fixing that field
        re-runs its own checks anyway)."""
        hit = False
        for blocked, reported in self._blocked.items():
            if any(_related(field, blocked) for field in fields):
                hit = True
                if not _under(dependant, reported):
                    self._waiting.setdefault(reported, set()).add(dependant)
        return hit

    def dropped(self, path: str) -> bool:
        """``path`` holds, or lies under, a value pydantic refused: any finding there judges a default."""
        return any(_under(path, d) or _under(path, self._blocked[d]) for d in self._dropped)

    def notes(self) -> list[SpecIssue]:
        """One issue per blocking field that made a check wait."""
        return [
            SpecIssue(path, WAITS, None, f"Waiting: {', '.join(sorted(deps))}.")
            for path, deps in sorted(self._waiting.items())
        ]
