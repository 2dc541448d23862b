"""``raydt doctor [--address ADDR] [SPEC]`` and ``raydt explain PATH`` (``raydt.diagnose``, through the API)."""

from __future__ import annotations

import argparse
import sys

from raydt import api
from raydt.cli.table import Command, Outcome, quiet_argument


def _doctor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", nargs="?", help="a spec to check against this environment (.json/.yaml/.yml or -)")
    parser.add_argument(
        "--address",
        help="a Ray cluster to check (GCS host:port or 'auto'); default: the spec's "
        "config.address, RAY_ADDRESS, or the `raydt cluster up` cluster when it runs (spec only)",
    )
    quiet_argument(parser, "no summary on stderr")


def _doctor(args: argparse.Namespace) -> Outcome:
    return api.doctor(args.spec, args.address, summary=None if args.quiet else sys.stderr)


def _explain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", help="an experiment folder (experimentPath), a run's logFile, a saved result JSON, or a bundle"
    )


def _explain(args: argparse.Namespace) -> Outcome:
    return api.explain(args.path)


COMMANDS = (
    Command(
        "doctor",
        "doctor [SPEC]",
        "check this environment (and a spec, a cluster) before a run: JSON checks, a summary on stderr",
        _doctor,
        _doctor_arguments,
        about=("check the environment (and a spec; a cluster with --address); exit 1 when a check fails",),
        examples=("raydt doctor examples/train-default.yaml --address 127.0.0.1:6379",),
    ),
    Command(
        "explain",
        "explain PATH",
        "why a run failed: root causes with evidence (file, line) and fixes",
        _explain,
        _explain_arguments,
        about=("why a run failed: root causes with evidence (file, line) and fixes, across trials",),
        examples=("raydt explain ~/raydt_results/raydt-tune-20261122-061859",),
    ),
)
