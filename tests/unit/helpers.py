"""Helpers the unit tests share: the issues ``raydt.spec.load`` finds in a spec it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from raydt.errors import SpecError, SpecIssue
from raydt.spec import load


def spec_issues(spec: Any) -> list[SpecIssue]:
    """Every issue found in ``spec``, which must be refused."""
    with pytest.raises(SpecError) as info:
        load(spec)
    return info.value.issues


def issue_lines(spec: Any) -> list[str]:
    """Every issue found in ``spec`` as its one-line text (``path: rule (got value); hint: ...``)."""
    return [str(issue) for issue in spec_issues(spec)]


def issues_by_path(spec: Any) -> dict[str, str]:
    """Every issue's text by path (a path can have two lines: its problem and what waits for it)."""
    found: dict[str, str] = {}
    for issue in spec_issues(spec):
        found[issue.path] = f"{found[issue.path]}\n{issue}" if issue.path in found else str(issue)
    return found
