"""``runConfig.report``: the report at the end of every run (also a failed or interrupted one).

A report is an extra: whatever goes wrong while writing it becomes a warning (in ``warnings``, or in
``error.details.reportWarning`` of a failed run), never a failed run. A failed run's report rides on the
error (``report_path``: ``api.execute`` puts it in the result as ``reportPath``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from raydt.errors import RaydtError
from raydt.paths import is_remote
from raydt.progress import ProgressView
from raydt.results.document import SPEC_CODES


def reported(experiment_path: str, view: ProgressView, body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``body`` (the run) and write its report, however it ended."""
    try:
        out = body()
    except RaydtError as err:
        if err.code in SPEC_CODES:  # an invalid spec or data: nothing ran, nothing to report
            raise
        path, warning = attempt(experiment_path, {"status": "error", "error": err.to_dict()}, view)
        if path:
            err.report_path = path  # type: ignore[attr-defined]
        if warning:
            err.details = {**(err.details or {}), "reportWarning": warning}
        raise
    path, warning = attempt(experiment_path, out, view)
    if path:
        out["reportPath"] = path
    if warning:
        out["warnings"] = [*out.get("warnings", []), warning]
    return out


def attempt(experiment_path: str, result: dict[str, Any], view: ProgressView) -> tuple[str | None, str | None]:
    """(the HTML file, None), or (None, why no report was written)."""
    if is_remote(experiment_path):
        return None, (f"report not written: the experiment is stored at a URI ({experiment_path}); copy it "
                      "here and run: raydt report DIR")  # fmt: skip
    if not os.path.isdir(experiment_path):
        return None, "report not written: the run left no experiment directory"
    try:
        from raydt.report import write

        written = write(experiment_path, None, result)
    except Exception as exc:  # noqa: BLE001 - the report must never fail the run
        return None, f"report not written: {type(exc).__name__}: {str(exc)[:300]}"
    view.event(f"report: {written.html} ({len(written.figures)} figures, {written.seconds:.1f}s)")
    return str(written.html), None
