"""``raydt report EXPERIMENT_DIR|BUNDLE [--out PATH]``: the experiment's report, as a result document; ``raydt bundle
DIR [-o FILE] [--with-checkpoints] [--result FILE]``: the experiment packed for someone else (redacted)."""

from __future__ import annotations

import argparse

from raydt import api
from raydt.cli.table import Command, Outcome


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "experiment", help="the experiment directory (experimentPath of a result), or a bundle (raydt bundle)"
    )
    parser.add_argument(
        "--out",
        help="the HTML file (PATH.html; the PNGs go beside it) or a folder for report.html and the PNGs "
        "(default: EXPERIMENT/report/; for a bundle, NAME-report/ beside it)",
    )


def _report(args: argparse.Namespace) -> Outcome:
    return api.report(args.experiment, args.out)


def _bundle_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", metavar="DIR", help="the experiment directory (experimentPath of a result)")
    parser.add_argument("-o", "--out", help="the .tar.gz to write (default: ./NAME.tar.gz)")
    parser.add_argument(
        "--with-checkpoints",
        action="store_true",
        help="also pack the checkpoint folders and large artifacts (left out by default)",
    )
    parser.add_argument("--result", help="a saved result of the run (raydt run SPEC > result.json) to pack with it")


def _bundle(args: argparse.Namespace) -> Outcome:
    return api.bundle(args.experiment, args.out, with_checkpoints=args.with_checkpoints, result=args.result)


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
    Command(
        "bundle",
        "bundle DIR",
        "pack an experiment for someone else: spec, ledgers, logs, post-mortems, report; secrets redacted",
        _bundle,
        _bundle_arguments,
        about=(
            "pack an experiment as a .tar.gz (no checkpoints unless --with-checkpoints; secrets redacted);",
            "raydt explain and raydt report read the bundle on any machine",
        ),
        examples=("raydt bundle ~/raydt_results/raydt-tune-20261122-061859 -o run.tar.gz && raydt explain run.tar.gz",),
    ),
)
