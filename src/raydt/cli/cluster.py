"""``raydt cluster [status | up | down]``: a cluster's status (``mode: cluster``), or the lasting local cluster."""

from __future__ import annotations

import argparse

from raydt import api
from raydt.cli.table import Command, Outcome, not_for, quiet_argument

#: ``raydt cluster up`` flags (dest names): given with status or down, they are a usage error
_UP_FLAGS = ("cpus", "gpus", "memory", "resources", "workers", "worker_cpus", "worker_gpus", "worker_resources",
             "host", "idle_stop", "no_warm", "spec")  # fmt: skip


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=["status", "up", "down"],
        default="status",
        help="status (default): nodes and resources; up: start a lasting local cluster; down: stop it",
    )
    parser.add_argument("--address", help="status: Ray address (default: RAY_ADDRESS, else the cluster `up` "
                        "started when it runs, else an embedded Ray)")  # fmt: skip
    quiet_argument(parser)
    parser.add_argument("--cpus", type=float, help="up: CPUs of the head (default: Ray detects)")
    parser.add_argument("--gpus", type=float, help="up: GPUs of the head (default: Ray detects)")
    parser.add_argument("--memory", type=int, help="up: Ray's 'memory' resource of the head, in bytes")
    parser.add_argument("--resources", help="up: custom resources of the head, JSON: '{\"accel\": 1}'")
    parser.add_argument("--workers", type=int, help="up: worker raylets to add on this machine (default 0)")
    parser.add_argument("--worker-cpus", type=float, help="up: CPUs of each worker raylet (default 1)")
    parser.add_argument("--worker-gpus", type=float, help="up: GPUs of each worker raylet (default 0)")
    parser.add_argument("--worker-resources", help="up: custom resources of each worker raylet, JSON")
    parser.add_argument("--host", help="up: bind address (default 127.0.0.1; anything else warns)")
    parser.add_argument("--spec", help="up: take the head's resources from this spec's config.rayInit")
    parser.add_argument(
        "--idle-stop", help="up: stop the cluster once nothing has used it this long (30m, 90s, 2h; see its history)"
    )
    parser.add_argument(
        "--no-warm",
        action="store_const",
        const=True,
        help="up: no warm runner (by default runs on the cluster are forked from a process that has raydt, Ray "
        "and torch imported: seconds sooner)",
    )


def _cluster(args: argparse.Namespace) -> Outcome:
    given = [f"--{name.replace('_', '-')}" for name in _UP_FLAGS if getattr(args, name) is not None]
    if args.action == "up":  # up takes every flag but --address
        given = ["--address"] if args.address else []
    wrong = not_for("cluster", args.action, given)
    if wrong is not None:
        return wrong
    if args.action == "status":  # mode: cluster, run as ``raydt run`` runs a spec
        return None, api.run_logged(api.cluster_spec(args.address), quiet=args.quiet)
    flags = {name: getattr(args, name) for name in _UP_FLAGS if name != "spec"}
    return api.cluster(args.action, flags, args.spec)


COMMANDS = (
    Command(
        "cluster",
        "cluster ACTION",
        "a lasting local cluster (up | down) or a cluster's status",
        _cluster,
        _arguments,
        about=(
            "up: start a lasting local Ray cluster (127.0.0.1, token auth) that raydt run then uses",
            "status: show the Ray cluster's nodes and resources (mode: cluster); plain `cluster` too",
            "down: stop the cluster `cluster up` started (its processes, by pid)",
        ),
        examples=(
            "raydt cluster up --cpus 2 --workers 1 --worker-cpus 1",
            "raydt cluster up --idle-stop 30m   (stops itself after 30 minutes without a run, job or serve app)",
            "raydt cluster status --address 127.0.0.1:6379",
        ),
    ),
)
