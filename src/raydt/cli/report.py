"""``raydt report EXPERIMENT_DIR [--out PATH]``: the experiment's report, as a result document."""

from __future__ import annotations

import argparse

from raydt import api
from raydt.cli.table import Command, Outcome


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", help="the experiment directory (experimentPath of a result)")
    parser.add_argument(
        "--out",
        help="the HTML file (PATH.html; the PNGs go beside it) or a folder for report.html and the PNGs "
        "(default: EXPERIMENT/report/)",
    )


def _report(args: argparse.Namespace) -> Outcome:
    return api.report(args.experiment, args.out)


COMMANDS = (
    Command(
        "report",
        "report DIR",
        "write an experiment's report: one self-contained HTML file and a PNG per figure",
        _report,
        _arguments,
        about=("an experiment's report: one self-contained HTML file (opens offline) and a PNG per figure",),
        examples=("raydt report ~/raydt_results/raydt-tune-20261122-061859 --out report.html",),
    ),
)
