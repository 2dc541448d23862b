"""``raydt serve status | shutdown``: the serve runs recorded on this machine."""

from __future__ import annotations

import argparse

from raydt import api
from raydt.cli.table import Command, Outcome
from raydt.errors import EXIT_SUCCESS


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["status", "shutdown"])
    parser.add_argument("--port", type=int, help="the serve run's port (shutdown: which one)")


def _serve(args: argparse.Namespace) -> Outcome:
    if args.action == "status":
        return api.serve_status(args.port), EXIT_SUCCESS
    return api.serve_shutdown(args.port)


COMMANDS = (
    Command(
        "serve",
        "serve ACTION",
        "running serve runs: status | shutdown",
        _serve,
        _arguments,
        about=(
            "status: the running serve runs: alive, answering, replicas by state",
            "shutdown: stop a serve run (--port P when there are several)",
        ),
    ),
)
