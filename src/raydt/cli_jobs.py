"""The ``raydt submit`` and ``raydt jobs list | status | logs | stop | result`` command lines."""

from __future__ import annotations

import argparse
import sys
from typing import Any

_CONNECTION = "the head's dashboard URL, http://HOST:8265 (default: RAY_API_SERVER_ADDRESS, else the cluster "
_CONNECTION += "`raydt cluster up` started)"
_TOKEN = "file holding the cluster's auth token (default: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH; never printed)"


def _connection(parser: Any) -> None:
    parser.add_argument("--address", help=_CONNECTION)
    parser.add_argument("--token-file", help=_TOKEN)


def add_parsers(sub: Any) -> None:
    submit = sub.add_parser("submit", help="submit a spec to a Ray cluster as a Ray Job")
    submit.add_argument("spec", help="spec file (.json/.yaml/.yml) or - for stdin")
    _connection(submit)
    submit.add_argument("--wait", action="store_true", help="follow the job's log and print the run's result")
    submit.add_argument("-q", "--quiet", action="store_true", help="--wait: no live view on stderr")
    submit.add_argument("--working-dir", help="folder sent with the job (default: the folder of the spec's code)")
    submit.add_argument("--exclude", action="append", default=[], help="pattern left out of the folder (repeat)")
    submit.add_argument("--max-upload-mb", type=float, default=100.0, help="refuse a bigger folder (default 100)")
    submit.add_argument("--python", help="interpreter that runs raydt on the cluster (default: python; the "
                        "lasting cluster's own interpreter for `raydt cluster up`)")  # fmt: skip
    submit.add_argument("--no-ship-raydt", action="store_true",
                        help="use the raydt installed on the cluster instead of sending this one")  # fmt: skip
    submit.add_argument("--entrypoint-cpus", type=float, default=0.0, help="CPUs the driver takes (default 0)")
    submit.add_argument("--entrypoint-gpus", type=float, default=0.0, help="GPUs the driver takes (default 0)")
    jobs = sub.add_parser("jobs", help="Ray Jobs on a cluster: list | status | logs | stop | result")
    jobs.add_argument("action", choices=["list", "status", "logs", "stop", "result"])
    jobs.add_argument("job", nargs="?", help="the job id (raydt submit prints it); not for list")
    _connection(jobs)
    jobs.add_argument("--follow", action="store_true", help="logs: follow the log until the job ends")
    jobs.add_argument("--wait", action="store_true", help="result: wait for the job to end")


def submit(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    from raydt.jobs import commands, package

    opts = package.Options(
        working_dir=args.working_dir, excludes=tuple(args.exclude), max_upload_mb=args.max_upload_mb,
        python=args.python, ship_raydt=not args.no_ship_raydt, entrypoint_cpus=args.entrypoint_cpus,
        entrypoint_gpus=args.entrypoint_gpus,
    )  # fmt: skip
    err = None if args.quiet else sys.stderr
    return commands.guarded(
        lambda: commands.submit(
            args.spec, opts, address=args.address, token_file=args.token_file, wait=args.wait, err=err
        )
    )


def jobs(args: argparse.Namespace) -> tuple[dict[str, Any], int] | None:
    """A ``raydt jobs`` action: its document and exit code; None when ``logs`` wrote the log itself."""
    from raydt import results
    from raydt.errors import RaydtError, UsageError
    from raydt.jobs import commands

    if args.action == "list":
        return commands.guarded(lambda: commands.list_jobs(args.address, args.token_file))
    if not args.job:
        err = UsageError(f"raydt jobs {args.action} needs a job id", hint="raydt jobs list shows them")
        return results.error_result(err), err.exit_code
    wrong = [f for f, given in (("--follow", args.follow and args.action != "logs"),
                                ("--wait", args.wait and args.action != "result")) if given]  # fmt: skip
    if wrong:
        err = UsageError(f"raydt jobs {args.action}: {', '.join(wrong)} does not apply to {args.action}")
        return results.error_result(err), err.exit_code
    conn = (args.job, args.address, args.token_file)
    if args.action == "status":
        return commands.guarded(lambda: commands.status(*conn))
    if args.action == "stop":
        return commands.guarded(lambda: commands.stop(*conn))
    if args.action == "result":
        return commands.guarded(lambda: commands.result(*conn, wait=args.wait))
    try:
        commands.logs(*conn, follow=args.follow, out=sys.stdout)
    except RaydtError as exc:
        return results.error_result(exc), exc.exit_code
    return None
