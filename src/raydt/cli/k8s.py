"""``raydt k8s SPEC``: KubeRay YAML on stdout, or in ``--out`` with a JSON summary; with ``--dockerfile DIR``,
the build of the image the manifests name. Imports no Ray."""

from __future__ import annotations

import argparse

from raydt import api
from raydt.cli.table import Command, Outcome, spec_argument


def _arguments(parser: argparse.ArgumentParser) -> None:
    spec_argument(parser)
    parser.add_argument("--cluster", action="store_true", help="a RayCluster that stays (default: a RayJob)")
    parser.add_argument("--namespace", help="namespace of every document (default: k8sConfig.namespace, else none)")
    parser.add_argument("--name", help="name of the RayJob/RayCluster (default: from runConfig.name)")
    parser.add_argument(
        "--image", help="image of the Ray pods, with raydt in it (default: rayproject/ray:<Ray>-py<XY>[-gpu])"
    )
    parser.add_argument("--storage", help="URI (s3://...) or pvc:NAME every pod writes the experiment to")
    parser.add_argument("--queue", help="Kueue LocalQueue (the kueue.x-k8s.io/queue-name label)")
    parser.add_argument("--out", help="write the YAML to this file (default: stdout) and print a JSON summary")
    parser.add_argument(
        "--working-dir", help="code folder sent in the ConfigMap (default: the folder of the spec's code)"
    )
    parser.add_argument("--exclude", action="append", default=[], help="pattern left out of the folder (repeat)")
    parser.add_argument(
        "--idle-stop",
        metavar="DURATION",
        help="with --cluster: suspend the RayCluster after this long unused (30m, 2h; default: k8sConfig.idleStop)",
    )
    parser.add_argument(
        "--dockerfile", metavar="DIR", help="write the build of --image (FROM rayproject/ray, with raydt) into DIR"
    )


def _k8s(args: argparse.Namespace) -> Outcome:
    return api.k8s(
        args.spec, args.out, cluster=args.cluster, namespace=args.namespace, name=args.name, image=args.image,
        storage=args.storage, queue=args.queue, working_dir=args.working_dir, excludes=tuple(args.exclude),
        dockerfile=args.dockerfile, idle_stop=args.idle_stop,
    )  # fmt: skip


COMMANDS = (
    Command(
        "k8s",
        "k8s SPEC",
        "write KubeRay manifests (YAML) for a spec; needs no cluster, imports no Ray",
        _k8s,
        _arguments,
        about=(
            "write KubeRay YAML for the spec: a ConfigMap (the spec and its code folder) + a RayJob (or",
            "--cluster: a RayCluster); --dockerfile DIR writes the build of the --image with raydt in it",
        ),
        examples=(
            "raydt k8s examples/train-default.yaml --storage s3://bucket/raydt --out job.yaml \\",
            "  --image registry.example.com/ml/raydt:0.1.0 --dockerfile build/",
        ),
    ),
)
