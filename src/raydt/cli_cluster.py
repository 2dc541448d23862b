"""The ``raydt cluster [status | up | down]`` command line: its flags, and up/down (status is ``mode: cluster``)."""

from __future__ import annotations

import argparse
from typing import Any

from raydt import results
from raydt.errors import UsageError

#: ``raydt cluster up`` flags (dest names): given with status or down, they are a usage error
_UP_FLAGS = ("cpus", "gpus", "memory", "resources", "workers", "worker_cpus", "worker_gpus", "worker_resources",
             "host", "spec")  # fmt: skip


def add_parser(sub: Any) -> None:
    cluster = sub.add_parser("cluster", help="a lasting local cluster (up | down) or a cluster's status")
    cluster.add_argument(
        "action",
        nargs="?",
        choices=["status", "up", "down"],
        default="status",
        help="status (default): nodes and resources; up: start a lasting local cluster; down: stop it",
    )
    cluster.add_argument("--address", help="status: Ray address (default: RAY_ADDRESS, else the cluster `up` "
                         "started when it runs, else an embedded Ray)")  # fmt: skip
    cluster.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    cluster.add_argument("--cpus", type=float, help="up: CPUs of the head (default: Ray detects)")
    cluster.add_argument("--gpus", type=float, help="up: GPUs of the head (default: Ray detects)")
    cluster.add_argument("--memory", type=int, help="up: Ray's 'memory' resource of the head, in bytes")
    cluster.add_argument("--resources", help="up: custom resources of the head, JSON: '{\"accel\": 1}'")
    cluster.add_argument("--workers", type=int, help="up: worker raylets to add on this machine (default 0)")
    cluster.add_argument("--worker-cpus", type=float, help="up: CPUs of each worker raylet (default 1)")
    cluster.add_argument("--worker-gpus", type=float, help="up: GPUs of each worker raylet (default 0)")
    cluster.add_argument("--worker-resources", help="up: custom resources of each worker raylet, JSON")
    cluster.add_argument("--host", help="up: bind address (default 127.0.0.1; anything else warns)")
    cluster.add_argument("--spec", help="up: take the head's resources from this spec's config.rayInit")


def command(args: argparse.Namespace) -> tuple[dict[str, Any], int] | None:
    """``raydt cluster up | down``: (result, exit code); None for ``status`` (it runs as ``mode: cluster``)."""
    from raydt.clusters import commands

    given = [f"--{name.replace('_', '-')}" for name in _UP_FLAGS if getattr(args, name) is not None]
    wrong = given if args.action != "up" else []
    if args.action == "up" and args.address:
        wrong = ["--address"]
    if wrong:
        err = UsageError(f"raydt cluster {args.action}: {', '.join(wrong)} does not apply to {args.action}")
        return results.error_result(err), err.exit_code
    if args.action == "status":
        return None
    if args.action == "down":
        return commands.down()
    flags = {name: getattr(args, name) for name in _UP_FLAGS if name != "spec"}
    return commands.up(flags, args.spec)
