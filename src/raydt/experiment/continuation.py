"""``raydt run SPEC --continue-from DIR``: a changed spec of an earlier search becomes a new experiment beside it,
warm-started with every finished trial of the old one (``tuneConfig.warmStart``). Ray-free.

The old experiment is never touched (Ray would restore it with the old spec); the new one is named
``<old name>-cont<N>`` (the first N free) in the new spec's storage path, else the old experiment's. With
``initFromBest`` (``--init-from-best``) each new trial also starts from the checkpoint of the nearest finished old
trial (``search.starts``): allowed only when the two specs differ in what is searched, never in what is trained.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raydt import paths
from raydt.errors import SpecError, SpecIssue
from raydt.experiment import SPEC_FILE
from raydt.experiment.stored_spec import differences

#: What may differ for the new trials to start from old checkpoints: the search, not the training.
SEARCH_ONLY = (
    "tuneConfig.searchSpace",
    "tuneConfig.numSamples",
    "tuneConfig.seed",
    "tuneConfig.maxConcurrentTrials",
    "tuneConfig.pointsToEvaluate",
    "tuneConfig.warmStart",
    "runConfig.name",
    "runConfig.storagePath",
)
FLAG = "--continue-from"


@dataclass(frozen=True)
class Continuation:
    """The old experiment, the new name, and what changed (path, old value, new value)."""

    old: str
    name: str
    storage: str
    changes: tuple[tuple[str, Any, Any], ...]
    init_from_best: bool

    def summary(self) -> dict[str, Any]:
        """``results.continuedFrom``."""
        changed = [{"key": k, "old": _plain(a), "new": _plain(b)} for k, a, b in self.changes]
        return {"experimentPath": self.old, "differences": changed, "initFromBest": self.init_from_best}


def prepare(
    raw: dict[str, Any], experiment_dir: str | Path, base_dirs: tuple[Path, ...], init_from_best: bool
) -> Continuation:
    """Rewrite ``raw`` (the unwrapped spec, in place) to continue the search in ``experiment_dir``; raises
    ``SpecError`` when it cannot."""
    old = os.path.abspath(os.path.expanduser(str(experiment_dir)))
    stored = _stored(old)
    if raw.get("mode") != "tune":
        hint = (
            "A train run goes on with `raydt resume DIR`, or from a checkpoint with trainConfig.resumeFromCheckpoint."
        )
        raise SpecError([SpecIssue("mode", f"{FLAG} continues a search (mode tune)", raw.get("mode"), hint)])
    if stored.get("mode") != "tune":
        raise SpecError([SpecIssue(FLAG, "names a train run's experiment, not a search's", old, "")])
    tune = raw.setdefault("tuneConfig", {})
    given = (tune.get("warmStart") or {}).get("experimentPath")
    if given is not None and os.path.abspath(str(paths.resolve(given, base_dirs))) != old:
        hint = f"Leave tuneConfig.warmStart out: {FLAG} sets it to the experiment it continues."
        raise SpecError([SpecIssue("tuneConfig.warmStart.experimentPath", f"differs from {FLAG}", given, hint)])
    changes = tuple(differences(stored, paths.absolute_spec(json.loads(json.dumps(raw)), base_dirs)))
    run = raw.setdefault("runConfig", {})
    storage = (
        os.path.abspath(str(paths.resolve(run["storagePath"], base_dirs)))
        if run.get("storagePath")
        else os.path.dirname(old)
    )
    name = _free_name(str((stored.get("runConfig") or {}).get("name") or os.path.basename(old)), storage)
    if init_from_best:
        trained = [key for key, _, _ in changes if not any(key == k or key.startswith(k + ".") for k in SEARCH_ONLY)]
        if trained:
            hint = "New trials start from old checkpoints only when the search changed; drop --init-from-best."
            rule = f"needs a spec that differs only in the search, but {', '.join(trained[:5])} changed"
            raise SpecError([SpecIssue("tuneConfig.warmStart.initFromBest", rule, True, hint)])
    run["name"], run["storagePath"] = name, storage
    tune["warmStart"] = {"experimentPath": old, **({"initFromBest": True} if init_from_best else {})}
    return Continuation(old, name, storage, changes, init_from_best)


def summary(old: str, new: str, init_from_best: bool) -> dict[str, Any]:
    """``results.continuedFrom`` of the search in ``new`` warm-started from ``old``: both stored specs compared."""
    try:
        with open(os.path.join(new, SPEC_FILE), encoding="utf-8") as fh:
            given = json.load(fh)
        changes = tuple(differences(_stored(old), given))
    except (OSError, ValueError, SpecError):  # a folder without its spec: the continuation is still named
        changes = ()
    return Continuation(old, os.path.basename(new), os.path.dirname(new), changes, init_from_best).summary()


def _stored(old: str) -> dict[str, Any]:
    path = os.path.join(old, SPEC_FILE)
    hint = "DIR is a search's experimentPath (a folder holding raydt_spec.json)."
    try:
        with open(path, encoding="utf-8") as fh:
            stored = json.load(fh)
    except OSError:
        raise SpecError([SpecIssue(FLAG, f"is not a raydt experiment folder (no {SPEC_FILE})", old, hint)]) from None
    except ValueError as exc:
        raise SpecError([SpecIssue(FLAG, f"has an unreadable {SPEC_FILE}: {exc}", old, hint)]) from None
    return stored if isinstance(stored, dict) else {}


def _free_name(old_name: str, storage: str) -> str:
    """``<old>-cont<N>``, the first N whose folder does not exist (a continuation of a continuation counts on)."""
    base, _, number = old_name.rpartition("-cont")
    stem = base if base and number.isdigit() else old_name
    n = 1
    while os.path.exists(os.path.join(storage, f"{stem}-cont{n}")):
        n += 1
    return f"{stem}-cont{n}"


def _plain(value: Any) -> Any:
    """A JSON value; a key one side lacks is ``None``."""
    try:
        json.dumps(value)
    except TypeError:
        return None
    return value
