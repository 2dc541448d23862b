"""The ``raydt k8s SPEC`` command line: KubeRay YAML on stdout, or in ``--out`` with a JSON summary; with
``--dockerfile DIR``, the build of the image the manifests name. Imports no Ray."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from raydt import results
from raydt.errors import EXIT_SUCCESS, OptionError, RaydtError, SpecIssue


def add_parser(sub: Any) -> None:
    k8s = sub.add_parser("k8s", help="write KubeRay manifests (YAML) for a spec; needs no cluster, imports no Ray")
    k8s.add_argument("spec", help="spec file (.json/.yaml/.yml) or - for stdin")
    k8s.add_argument("--cluster", action="store_true", help="a RayCluster that stays (default: a RayJob)")
    k8s.add_argument("--namespace", help="namespace of every document (default: k8sConfig.namespace, else none)")
    k8s.add_argument("--name", help="name of the RayJob/RayCluster (default: from runConfig.name)")
    k8s.add_argument(
        "--image", help="image of the Ray pods, with raydt in it (default: rayproject/ray:<Ray>-py<XY>[-gpu])"
    )
    k8s.add_argument("--storage", help="URI (s3://...) or pvc:NAME every pod writes the experiment to")
    k8s.add_argument("--queue", help="Kueue LocalQueue (the kueue.x-k8s.io/queue-name label)")
    k8s.add_argument("--out", help="write the YAML to this file (default: stdout) and print a JSON summary")
    k8s.add_argument("--working-dir", help="code folder sent in the ConfigMap (default: the folder of the spec's code)")
    k8s.add_argument("--exclude", action="append", default=[], help="pattern left out of the folder (repeat)")
    k8s.add_argument(
        "--dockerfile", metavar="DIR", help="write the build of --image (FROM rayproject/ray, with raydt) into DIR"
    )


def command(args: argparse.Namespace) -> tuple[dict[str, Any] | str, int]:
    """(the YAML, or the JSON summary of --out, or an error document; the exit code)."""
    from raydt import k8s

    flags = k8s.Flags(
        args.cluster, args.namespace, args.name, args.image, args.storage, args.queue, args.working_dir,
        tuple(args.exclude), args.dockerfile,
    )  # fmt: skip
    try:
        manifests = k8s.build(args.spec, flags)
        text = k8s.render(manifests)
        build = manifests.image_build
        dockerfile = _written(
            "--dockerfile", args.dockerfile, lambda: build and k8s.write_image_build(build, args.dockerfile)
        )
        if args.out:
            _written("--out", args.out, lambda: Path(args.out).write_text(text, encoding="utf-8"))
    except RaydtError as err:
        return results.error_result(err), err.exit_code
    if not args.out:
        return text, EXIT_SUCCESS
    out: dict[str, Any] = {"status": results.SUCCESS, "results": results.empty_results(), "mode": manifests.mode}
    written: dict[str, Any] = {"file": str(Path(args.out).resolve()), "documents": manifests.names}
    out["manifests"] = {**written, "dockerfile": str(dockerfile)} if dockerfile else written
    if manifests.notes:
        out["warnings"] = list(manifests.notes)
    return out, EXIT_SUCCESS


def _written(flag: str, value: str | None, write: Any) -> Any:
    """``write()``'s result; an OSError is the flag's usage error."""
    try:
        return write()
    except OSError as exc:
        issue = SpecIssue(flag, f"cannot be written ({exc.strerror or exc})", value, "Pick a writable path.")
        raise OptionError([issue]) from None
