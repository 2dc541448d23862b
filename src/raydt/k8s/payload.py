"""What the pods run: the spec as ``raydt run`` reads it in the head pod, and the files it names, all in one ConfigMap
mounted at ``/raydt``.

The spec is the one given, with ``k8sConfig`` and ``config.address`` left out (the driver runs inside its own
cluster), ``runConfig.name`` fixed (a retried job resumes the same experiment) and ``runConfig.storagePath`` the
storage every pod reaches. A trainer file and ``mapBatches`` files travel in the ConfigMap, named by their file
name (relative paths resolve against the spec's folder, ``/raydt``); what the pods cannot have — a local data
file, a local checkpoint to resume from — is an error, as are modes that do not end (serve) or train nothing.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raydt import paths
from raydt.errors import SpecIssue
from raydt.k8s.options import Options
from raydt.registry import MAP_KEYS
from raydt.spec.loader import LoadedSpec

MOUNT = "/raydt"
SPEC_FILE = "spec.json"
#: Kubernetes refuses a ConfigMap over 1 MiB; leave room for its metadata.
MAX_BYTES = 1_000_000
MODES = ("train", "tune")


@dataclass(frozen=True)
class Payload:
    """The ConfigMap's files (``spec.json`` and the code it names) and what the user should know."""

    spec: dict[str, Any]
    files: dict[str, str]
    notes: tuple[str, ...] = ()


def build(loaded: LoadedSpec, options: Options) -> tuple[Payload, list[SpecIssue]]:
    """The pods' spec and files, and what the pods could not run (problems at their spec paths)."""
    spec = copy.deepcopy(loaded.raw)
    issues: list[SpecIssue] = []
    files: dict[str, str] = {}
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
    ship = _Shipper(loaded, files, issues, notes)
    train_config = spec.get("trainConfig", {})
    if isinstance(train_config.get("trainerPath"), str):
        train_config["trainerPath"] = ship("trainConfig.trainerPath", train_config["trainerPath"])
    for i, step in enumerate(spec.get("dataConfig", {}).get("preprocess", [])):
        for key in MAP_KEYS if isinstance(step, dict) else ():
            if isinstance(step.get(key), str):
                step[key] = ship(f"dataConfig.preprocess.{i}.{key}", step[key])
    text = json.dumps(spec, indent=2) + "\n"
    size = len(text) + sum(len(k) + len(v) for k, v in files.items())
    if size > MAX_BYTES:
        rule = f"the spec and the code it names come to {size} bytes, more than a ConfigMap holds ({MAX_BYTES})"
        issues.append(SpecIssue("trainConfig.trainerPath", rule, None, "Install the code in the image instead."))
    return Payload(spec, {SPEC_FILE: text, **files}, tuple(notes)), issues


def refused(loaded: LoadedSpec) -> list[SpecIssue]:
    """What a KubeRay job of this spec could not do."""
    spec = loaded.spec
    issues = []
    if spec.mode not in MODES:
        hint = "raydt k8s writes jobs that train: mode train or tune (serve a checkpoint with a KubeRay RayService)."
        issues.append(SpecIssue("mode", "is not a training mode", spec.mode, hint))
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


@dataclass
class _Shipper:
    """Puts the files that 'file.py:function' references name into the ConfigMap."""

    loaded: LoadedSpec
    files: dict[str, str]
    issues: list[SpecIssue]
    notes: list[str]

    def __call__(self, at: str, ref: str) -> str:
        """The reference as the pods read it: the file's ConfigMap key; a module reference is left as it is (it
        must be importable in the image)."""
        target, _, function = paths.resolve_ref(ref, self.loaded.base_dirs).rpartition(":")
        if not paths.is_file_target(target):
            self.notes.append(
                f"{at} names a module: it must be importable in the image (or installed by k8sConfig.pip)"
            )
            return ref
        source = Path(target)
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:  # validated, but read again: it may have changed since
            self.issues.append(SpecIssue(at, f"cannot be read ({exc})", ref))
            return ref
        key = re.sub(r"[^-._a-zA-Z0-9]", "_", source.name)
        while key == SPEC_FILE or (key in self.files and self.files[key] != text):
            key = f"_{key}"
        self.files[key] = text
        self.notes.append(f"{source} travels in the ConfigMap as {MOUNT}/{key} (the files it imports do not)")
        return f"{key}:{function}"
