"""``raydt serve status | shutdown | update``: the serve runs recorded on this machine."""

from __future__ import annotations

import argparse

from raydt import api
from raydt.cli.table import Command, Outcome
from raydt.errors import EXIT_SUCCESS


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["status", "shutdown", "update"])
    parser.add_argument("--port", type=int, help="the serve run's port (shutdown, update: which one)")
    parser.add_argument("--model", help="update: the model (serveConfig.models[].name) to replace")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", help="update: the new checkpoint directory")
    source.add_argument("--experiment", help="update: a raydt experiment: its best checkpoint (an ensemble: its top-k)")
    parser.add_argument("--variant", help="update: a canary's variant to replace (its weight is kept)")
    parser.add_argument("--timeout", type=float, default=600.0, help="update: longest wait in seconds (default 600)")


def _serve(args: argparse.Namespace) -> Outcome:
    if args.action == "status":
        return api.serve_status(args.port), EXIT_SUCCESS
    if args.action == "update":
        return api.serve_update(args.model, args.checkpoint, args.experiment, args.variant, args.port, args.timeout)
    return api.serve_shutdown(args.port)


COMMANDS = (
    Command(
        "serve",
        "serve ACTION",
        "running serve runs: status | shutdown | update",
        _serve,
        _arguments,
        about=(
            "status: the running serve runs: alive, answering, replicas by state",
            "shutdown: stop a serve run (--port P when there are several)",
            "update: replace one model of a running multi-model endpoint without dropping a request "
            "(--model NAME --checkpoint DIR | --experiment DIR [--variant V])",
        ),
        examples=("raydt serve update --model churn --checkpoint results/run2/checkpoint_000004",),
    ),
)
