"""``raydt submit SPEC`` and ``raydt jobs list | status | logs | stop | result``: Ray Jobs on a cluster."""

from __future__ import annotations

import argparse
import sys

from raydt import api
from raydt.cli.table import Command, Outcome, failed, not_for, quiet_argument, spec_argument
from raydt.errors import EXIT_SUCCESS, UsageError

_CONNECTION = "the head's dashboard URL, http://HOST:8265 (default: RAY_API_SERVER_ADDRESS, else the cluster "
_CONNECTION += "`raydt cluster up` started)"
_TOKEN = "file holding the cluster's auth token (default: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH; never printed)"


def _connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", help=_CONNECTION)
    parser.add_argument("--token-file", help=_TOKEN)


def _submit_arguments(parser: argparse.ArgumentParser) -> None:
    spec_argument(parser)
    _connection(parser)
    parser.add_argument("--wait", action="store_true", help="follow the job's log and print the run's result")
    quiet_argument(parser, "--wait: no live view on stderr")
    parser.add_argument("--working-dir", help="folder sent with the job (default: the folder of the spec's code)")
    parser.add_argument("--exclude", action="append", default=[], help="pattern left out of the folder (repeat)")
    parser.add_argument("--max-upload-mb", type=float, default=100.0, help="refuse a bigger folder (default 100)")
    parser.add_argument("--python", help="interpreter that runs raydt on the cluster (default: python; the "
                        "lasting cluster's own interpreter for `raydt cluster up`)")  # fmt: skip
    parser.add_argument("--no-ship-raydt", action="store_true",
                        help="use the raydt installed on the cluster instead of sending this one")  # fmt: skip
    parser.add_argument("--entrypoint-cpus", type=float, default=0.0, help="CPUs the driver takes (default 0)")
    parser.add_argument("--entrypoint-gpus", type=float, default=0.0, help="GPUs the driver takes (default 0)")


def _submit(args: argparse.Namespace) -> Outcome:
    return api.submit(
        args.spec, address=args.address, token_file=args.token_file, wait=args.wait,
        err=None if args.quiet else sys.stderr, working_dir=args.working_dir, excludes=tuple(args.exclude),
        max_upload_mb=args.max_upload_mb, python=args.python, ship_raydt=not args.no_ship_raydt,
        entrypoint_cpus=args.entrypoint_cpus, entrypoint_gpus=args.entrypoint_gpus,
    )  # fmt: skip


def _jobs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "status", "logs", "stop", "result"])
    parser.add_argument("job", nargs="?", help="the job id (raydt submit prints it); not for list")
    _connection(parser)
    parser.add_argument("--follow", action="store_true", help="logs: follow the log until the job ends")
    parser.add_argument("--wait", action="store_true", help="result: wait for the job to end")


def _jobs(args: argparse.Namespace) -> Outcome:
    if args.action != "list" and not args.job:
        return failed(UsageError(f"raydt jobs {args.action} needs a job id", hint="raydt jobs list shows them"))
    wrong = [f for f, given in (("--follow", args.follow and args.action != "logs"),
                                ("--wait", args.wait and args.action != "result")) if given]  # fmt: skip
    if (usage := not_for("jobs", args.action, wrong)) is not None:
        return usage
    outcome = api.job(args.action, args.job, address=args.address, token_file=args.token_file, wait=args.wait,
                      follow=args.follow, out=sys.stdout)  # fmt: skip
    return (None, EXIT_SUCCESS) if outcome is None else outcome  # None: logs wrote the log itself


COMMANDS = (
    Command(
        "submit",
        "submit SPEC",
        "submit a spec to a Ray cluster as a Ray Job",
        _submit,
        _submit_arguments,
        about=(
            "submit a spec to a Ray cluster as a Ray Job (validated here first; the code's folder",
            "and raydt travel with it); --wait follows it and prints the run's result",
        ),
        examples=("raydt submit examples/train-default.yaml --address http://127.0.0.1:8265 --wait",),
    ),
    Command(
        "jobs",
        "jobs ACTION",
        "Ray Jobs on a cluster: list | status | logs | stop | result",
        _jobs,
        _jobs_arguments,
        about=("list | status JOB | logs JOB [--follow] | stop JOB | result JOB [--wait]",),
        examples=("raydt jobs logs raydt-train-20261201-101500-ab12-3f2a1c --follow",),
    ),
)
