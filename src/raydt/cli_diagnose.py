"""The ``raydt doctor [--address ADDR] [SPEC]`` and ``raydt explain PATH`` command lines (``raydt.diagnose``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    doctor = sub.add_parser(
        "doctor", help="check this environment (and a spec, a cluster) before a run: JSON checks, a summary on stderr"
    )
    doctor.add_argument("spec", nargs="?", help="a spec to check against this environment (.json/.yaml/.yml or -)")
    doctor.add_argument(
        "--address",
        help="a Ray cluster to check (GCS host:port or 'auto'); default: the spec's "
        "config.address, RAY_ADDRESS, or the `raydt cluster up` cluster when it runs (spec only)",
    )
    doctor.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    explain = sub.add_parser("explain", help="why a run failed: root causes with evidence (file, line) and fixes")
    explain.add_argument("path", help="an experiment folder (experimentPath), a run's logFile, or a saved result JSON")


def command(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """(result, exit code) of ``doctor`` (its summary written to stderr) or ``explain``."""
    from raydt import diagnose

    if args.command == "explain":
        return diagnose.explain(args.path)
    doc, checks, code = diagnose.doctor(args.spec, args.address)
    if not args.quiet:
        sys.stderr.write(diagnose.summary(checks))
        sys.stderr.flush()
    return doc, code
