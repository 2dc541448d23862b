"""What the pods run: the spec as ``raydt run`` reads it in the head pod, and the user's code folder (``k8s.code``),
in one ConfigMap restored at ``/raydt`` on every pod.

The spec is the one given with its paths resolved, ``k8sConfig`` and ``config.address`` left out (the driver runs
inside its own cluster), ``runConfig.name`` fixed (a retried job resumes the same experiment), ``runConfig.storagePath``
the storage every pod reaches, and its paths into the code folder relative (``code/train.py:fn``). What the pods
cannot have — a local data file, a local checkpoint to resume from — is an error, as are modes that do not end
(serve) or train nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from raydt import paths
from raydt.errors import SpecIssue
from raydt.k8s import code
from raydt.k8s.options import Options
from raydt.spec.loader import LoadedSpec

MOUNT = "/raydt"
SPEC_FILE = "spec.json"
MODES = ("train", "tune")
MODE_HINT = (
    "raydt k8s writes jobs that train: use mode train or tune; serve the checkpoint they write with raydt run "
    "(mode serve) or a KubeRay RayService."
)


@dataclass(frozen=True)
class Payload:
    """The ConfigMap's files (``spec.json`` and the code folder) and what the user should know."""

    spec: dict[str, Any]
    files: dict[str, str]  # ConfigMap data: key -> text
    binary: dict[str, str]  # ConfigMap binaryData: key -> base64
    paths: dict[str, str]  # key -> its path under /raydt (the volume's items)
    notes: tuple[str, ...] = ()


def build(loaded: LoadedSpec, options: Options) -> tuple[Payload, list[SpecIssue]]:
    """The pods' spec and files, and what the pods could not run (problems at their spec paths)."""
    spec = paths.absolute_spec(loaded.raw, loaded.base_dirs)
    issues: list[SpecIssue] = []
    notes: list[str] = []
    spec.pop("k8sConfig", None)
    config = spec.setdefault("config", {})
    if config.pop("address", None) is not None:
        notes.append("config.address is left out: the job's driver connects to its own Ray cluster")
    run_config = spec.setdefault("runConfig", {})
    given = run_config.get("storagePath")
    if given is not None and given != options.storage.storage_path:
        notes.append(f"runConfig.storagePath {given} is replaced by {options.storage.storage_path} in the pods")
    run_config.update(name=options.experiment, storagePath=options.storage.storage_path)
    if options.storage.pvc:
        run_config["sharedStorage"] = True
    flags = options.flags
    shipped = code.ship(spec, flags.working_dir, flags.excludes, issues)
    text = json.dumps(spec, indent=2) + "\n"
    if shipped.paths:
        count = len(shipped.paths)
        notes.append(
            f"the code folder ({count} file(s), {shipped.size} bytes in the ConfigMap) is restored at "
            f"{MOUNT}/{code.CODE_DIR} on every pod; what it imports from elsewhere must be in the image"
        )
    notes += [f"{ref} names a module: the image must have it" for ref in code.module_refs(spec)]
    if shipped.size <= code.MAX_BYTES < shipped.size + len(text):
        rule = f"the spec and the code folder come to {shipped.size + len(text)} bytes, more than a ConfigMap holds"
        issues.append(SpecIssue("--working-dir", rule, flags.working_dir, code.TOO_LARGE_HINT))
    where = {SPEC_FILE: SPEC_FILE, **shipped.paths}
    return Payload(spec, {SPEC_FILE: text, **shipped.data}, shipped.binary, where, tuple(notes)), issues


def refused_mode(mode: Any, prefix: str = "") -> list[SpecIssue]:
    """A mode a KubeRay job cannot run (checked before the rest of the spec: a serve spec is refused as such)."""
    if mode in MODES or not isinstance(mode, str):
        return []
    rule = f"mode {mode} is refused: a KubeRay job of raydt k8s trains or tunes, then ends"
    return [SpecIssue(f"{prefix}mode", rule, mode, MODE_HINT)]


def refused(loaded: LoadedSpec) -> list[SpecIssue]:
    """What a KubeRay job of this spec could not do."""
    spec = loaded.spec
    issues = refused_mode(spec.mode)
    if spec.serve_config is not None:
        rule = "a RayJob ends when its training ends: raydt k8s does not serve"
        hint = "Leave serveConfig out; serve the best checkpoint afterwards (raydt run with mode serve)."
        issues.append(SpecIssue("serveConfig", rule, None, hint))
    resume = spec.train_config.resume_from_checkpoint
    if resume is not None and not paths.is_remote(resume):
        hint = "Leave it out: a retried job resumes its own experiment (runConfig.name is fixed in the manifest)."
        issues.append(SpecIssue("trainConfig.resumeFromCheckpoint", "is a local directory the pods lack", resume, hint))
    data = spec.data_config
    for split, source in (("train", data.train), ("validation", data.validation)) if data else ():
        given = [] if source is None else [source.paths] if isinstance(source.paths, str) else source.paths
        local = [p for p in given if not paths.is_remote(p)]
        if local:
            hint = "Put the data where every pod reads it: a URI (s3://bucket/train.csv, gs://...)."
            issues.append(SpecIssue(f"dataConfig.{split}.paths", "is a local path the pods lack", local[0], hint))
    return issues
