"""The ``raydt report EXPERIMENT_DIR [--out PATH]`` command line: the experiment report, as a result document."""

from __future__ import annotations

import argparse
from typing import Any

from raydt import results
from raydt.errors import RaydtError


def add_parser(sub: Any) -> None:
    report = sub.add_parser(
        "report", help="write an experiment's report: one self-contained HTML file and a PNG per figure"
    )
    report.add_argument("experiment", help="the experiment directory (experimentPath of a result)")
    report.add_argument(
        "--out",
        help="the HTML file (PATH.html; the PNGs go beside it) or a folder for report.html and the PNGs "
        "(default: EXPERIMENT/report/)",
    )


def command(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """(result, exit code): ``reportPath``, ``reportFigures``, and notes on figures left out as warnings."""
    from raydt.report import write

    try:
        written = write(args.experiment, args.out)
    except RaydtError as err:
        return results.error_result(err), err.exit_code
    out: dict[str, Any] = {
        "status": results.SUCCESS,
        "results": results.empty_results(),
        "mode": written.mode,
        "experimentPath": str(written.experiment),
        "reportPath": str(written.html),
        "reportFigures": [str(p) for p in written.figures],
    }
    if written.notes:
        out["warnings"] = list(written.notes)
    return out, 0
