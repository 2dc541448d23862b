"""The experiment directory: the spec a run was started with, so ``raydt resume DIR`` can continue it.

The spec is stored with every local path it reads resolved (``paths.absolute_spec``: against the current
directory, then the spec file's folder, as the run resolved them), so ``raydt resume DIR`` finds the same files
from any directory. Comparing a given spec with the stored one resolves both the same way first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from raydt import paths
from raydt.errors import SpecError, SpecFileError, SpecIssue
from raydt.experiment import SPEC_FILE
from raydt.state import write_json_atomic

if TYPE_CHECKING:
    from raydt.spec.loader import LoadedSpec


#: Keys that may differ between the stored spec and a run that continues it: they do not change what is
#: trained (where the cluster and the folder are, whether to resume, how the result is served, raydt k8s's options).
MAY_DIFFER = (
    "runConfig.resume",
    "runConfig.report",
    "runConfig.name",
    "runConfig.storagePath",
    "config.address",
    "serveConfig",
    "k8sConfig",
)


#: set by a Ray Job's entrypoint (``raydt.cli.job_entry``): the job runs in Ray's copy of the submitted folder,
#: whose path changes with every submission, so its spec is stored with the relative paths it was given and
#: the same spec submitted again continues the same experiment (a changed file is still a changed folder)
SUBMITTED_JOB: dict[str, bool] = {"active": False}


def _stored_form(raw: dict[str, Any], name: str, storage_path: str, base_dirs: tuple[Path, ...]) -> dict[str, Any]:
    """The spec as the experiment directory keeps it: a JSON-clean copy with its paths, name and storage resolved
    (``base_dirs``: where its relative paths resolve; none: the current directory)."""
    spec: dict[str, Any] = json.loads(json.dumps(raw))
    if not SUBMITTED_JOB.get("active"):
        spec = paths.absolute_spec(spec, base_dirs)
    run = spec.setdefault("runConfig", {})
    run["name"], run["storagePath"] = name, storage_path
    return spec


def save_spec(
    experiment_path: str, raw: dict[str, Any], name: str, storage_path: str, *, base_dirs: tuple[Path, ...] = ()
) -> None:
    """Write the spec (with its paths, name and storage path resolved) into the experiment directory, once: a
    run that continues the experiment never overwrites the spec it was started with."""
    path = os.path.join(experiment_path, SPEC_FILE)
    if os.path.exists(path):
        return
    os.makedirs(experiment_path, exist_ok=True)
    write_json_atomic(path, _stored_form(raw, name, storage_path, base_dirs))


def name_unnamed(loaded: LoadedSpec) -> LoadedSpec:
    """A train, tune or predict spec without ``runConfig.name``, given its experiment's name now (``raydt run``,
    before it names its log file ``<name>-<time>-<pid>.log`` beside the experiment, where ``raydt explain`` looks)."""
    import dataclasses

    from raydt.plan import default_name

    spec = loaded.spec
    if spec.mode not in ("train", "tune", "predict") or spec.run_config.name:
        return loaded
    name = default_name(spec.mode)
    run = spec.run_config.model_copy(update={"name": name})
    raw = {**loaded.raw, "runConfig": {**(loaded.raw.get("runConfig") or {}), "name": name}}
    return dataclasses.replace(loaded, spec=spec.model_copy(update={"run_config": run}), raw=raw)


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(_flat(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def differences(stored: dict[str, Any], given: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(path, stored value, given value) of every leaf that differs, ``MAY_DIFFER`` aside."""
    a, b = _flat(stored), _flat(given)
    out = []
    for key in sorted(set(a) | set(b)):
        if any(key == k or key.startswith(k + ".") for k in MAY_DIFFER):
            continue
        if a.get(key, _MISSING) != b.get(key, _MISSING):
            out.append((key, a.get(key, _MISSING), b.get(key, _MISSING)))
    return out


class _Missing:
    def __repr__(self) -> str:
        return "(not set)"


_MISSING = _Missing()


def check_same_spec(
    experiment_path: str, raw: dict[str, Any], name: str, storage_path: str, *, base_dirs: tuple[Path, ...] = ()
) -> None:
    """An existing experiment continues only with the spec it was started with: Ray would restore the old
    experiment while the new spec claims otherwise. A changed spec is an error before anything runs.

    Paths compare resolved: the same spec run from elsewhere names the same files (a relative path that now
    names another file is a difference). A spec stored with relative paths (an older raydt) resolves them as
    the given spec does."""
    path = os.path.join(experiment_path, SPEC_FILE)
    try:
        with open(path, encoding="utf-8") as fh:
            stored = paths.absolute_spec(json.load(fh), base_dirs)
    except (OSError, ValueError, AttributeError):
        return
    diffs = differences(stored, paths.absolute_spec(_stored_form(raw, name, storage_path, base_dirs), base_dirs))
    if not diffs:
        return
    hint = (
        f"Use a new runConfig.name for the changed spec, or finish the old experiment with: raydt resume "
        f"{experiment_path}"
    )
    if raw.get("mode") == "tune":  # a changed search goes on as a new one, warm-started with the old trials
        hint += "; or run the changed search as a new one that learns from it: raydt run SPEC --continue-from "
        hint += experiment_path
    issues = [
        SpecIssue(key, f"differs from the spec experiment '{name}' was started with (stored: {old!r})", new, hint)
        for key, old, new in diffs[:10]
    ]
    raise SpecError(issues, hint=hint)


def check_new(
    experiment_path: str,
    resume: str,
    raw: dict[str, Any],
    name: str,
    storage_path: str,
    *,
    base_dirs: tuple[Path, ...] = (),
) -> None:
    """Rules for a name that is already taken: ``runConfig.resume: never`` refuses it; otherwise the spec
    must be the one the experiment was started with."""
    if resume != "never":
        check_same_spec(experiment_path, raw, name, storage_path, base_dirs=base_dirs)
        return
    if os.path.exists(experiment_path):
        raise SpecError(
            [
                SpecIssue(
                    "runConfig.name",
                    "an experiment of this name already exists and runConfig.resume is 'never'",
                    os.path.basename(experiment_path),
                    "Choose another runConfig.name, or set runConfig.resume: auto to continue it.",
                )
            ]
        )


def spec_for_resume(experiment_dir: str | Path) -> dict[str, Any]:
    """The spec saved in ``experiment_dir``, set to continue that experiment. Its paths were stored resolved,
    so it loads the same from any directory."""
    path = Path(experiment_dir).expanduser().resolve()
    spec_file = path / SPEC_FILE
    if not path.is_dir():
        raise SpecFileError(f"experiment directory not found: {path}", hint="Pass the experimentPath of a run.")
    if not spec_file.is_file():
        raise SpecFileError(
            f"{path} holds no {SPEC_FILE}: it was not started by raydt",
            hint="Pass the experimentPath printed in a raydt result.",
        )
    spec: dict[str, Any] = json.loads(spec_file.read_text(encoding="utf-8"))
    run = spec.setdefault("runConfig", {})
    run["name"], run["storagePath"], run["resume"] = path.name, str(path.parent), "auto"
    return spec
