"""``mode: tune`` (next milestone)."""

from __future__ import annotations

from typing import Any

from raydt.errors import SpecError, SpecIssue
from raydt.progress import ProgressView
from raydt.spec.loader import LoadedSpec


def run_tune(loaded: LoadedSpec, view: ProgressView) -> dict[str, Any]:
    """Not available in this version: fails as a spec error before anything starts."""
    raise SpecError(
        [SpecIssue("mode", "'tune' is not available in this version of raydt yet", "tune", "Use mode 'train'.")]
    )
