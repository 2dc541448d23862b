"""The experiment directory: the spec a run was started with, so ``raydt resume DIR`` can continue it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from raydt.errors import SpecError, SpecFileError, SpecIssue

SPEC_FILE = "raydt_spec.json"


def save_spec(experiment_path: str, raw: dict[str, Any], name: str, storage_path: str) -> None:
    """Write the spec (with its resolved name and storage path) into the experiment directory."""
    spec = json.loads(json.dumps(raw))  # a deep, JSON-clean copy
    run = spec.setdefault("runConfig", {})
    run["name"], run["storagePath"] = name, storage_path
    os.makedirs(experiment_path, exist_ok=True)
    with open(os.path.join(experiment_path, SPEC_FILE), "w", encoding="utf-8") as fh:
        json.dump(spec, fh, indent=2)


def check_new(experiment_path: str, resume: str) -> None:
    """With ``runConfig.resume: never`` an existing experiment of the same name is an error."""
    if resume == "never" and os.path.exists(experiment_path):
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
    """The spec saved in ``experiment_dir``, set to continue that experiment."""
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
