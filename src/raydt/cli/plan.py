"""``raydt plan SPEC [--address URL | --k8s] [--probe]``: what a run would do, without running it (``raydt.forecast``,
through the API). Imports no Ray unless it connects to a running cluster or probes."""

from __future__ import annotations

import argparse

from raydt import api
from raydt.cli.table import Command, Outcome, spec_argument


def _arguments(parser: argparse.ArgumentParser) -> None:
    spec_argument(parser)
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--address",
        help="a running Ray cluster to plan on (GCS host:port or 'auto'); default: what the run would use "
        "(config.address, RAY_ADDRESS, the `raydt cluster up` cluster), else the embedded Ray of this machine",
    )
    where.add_argument("--k8s", action="store_true", help="plan on the KubeRay cluster `raydt k8s` would write")
    parser.add_argument(
        "--probe",
        action="store_true",
        help="time one trial's first iterations on the target (a real short run, cleaned up) for the estimate",
    )


def _plan(args: argparse.Namespace) -> Outcome:
    return api.plan(args.spec, address=args.address, k8s=args.k8s, probe=args.probe)


COMMANDS = (
    Command(
        "plan",
        "plan SPEC",
        "what a train or tune run would do, without running it: trials, resources, fit, time, cost",
        _plan,
        _arguments,
        about=(
            "what a run would do: trials and workers, resources, trials at once and why, whether it fits",
            "(exit 2 when not), the wall time (--probe, or earlier runs) and cost (config.costPerHour)",
        ),
        examples=("raydt plan examples/seed-tune.json --probe",),
    ),
)
