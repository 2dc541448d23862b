"""``tuneConfig.warmStart.initFromBest``: where each new trial of a continued search starts - the latest checkpoint
of the finished earlier trial nearest to its config. Ray-free: the earlier experiment is read as files.

Nearest: over the keys of the two configs (nested keys flattened), a number differs by its distance divided by
the spread of that key among the earlier trials (a key all of them share differs by 0 or 1), any other value by
0 or 1, a key one config lacks by 1; the sum decides, and among equally near trials the better metric. The
trainer reads the checkpoint as it reads ``trainConfig.resumeFromCheckpoint`` (``config["resumeFromCheckpoint"]``,
when Ray has no checkpoint of the trial's own: a restarted trial resumes its own).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from raydt.search.warm import finished_trials


@dataclass(frozen=True)
class Start:
    """An earlier finished trial with a checkpoint: its config, its latest checkpoint and its metric."""

    config: dict[str, Any]
    checkpoint: str
    score: float | None


def starts(experiment: str, metric: str, mode: str) -> list[Start]:
    """The finished trials of the search in ``experiment`` that kept a checkpoint, each with its latest one."""
    found = []
    for trial in finished_trials(experiment):
        folder = _trial_folder(experiment, trial.trial_id)
        checkpoints = sorted(e for e in os.listdir(folder) if e.startswith("checkpoint_")) if folder else []
        if not checkpoints:
            continue
        value = trial.last.get(metric)
        score = float(value) if isinstance(value, int | float) and math.isfinite(value) else None
        if score is not None and mode == "max":
            score = -score
        found.append(Start(trial.config, os.path.join(str(folder), checkpoints[-1]), score))
    return found


def nearest(found: list[Start], config: dict[str, Any]) -> Start | None:
    """The start for a trial sampled with ``config`` (None when there is none)."""
    if not found:
        return None
    flat = [_flat(s.config) for s in found]
    keys = set().union(*flat) | set(_flat(config))
    spread = {k: _spread([f.get(k) for f in flat]) for k in keys}
    given = _flat(config)

    def distance(f: dict[str, Any]) -> float:
        return sum(_differ(given.get(k, _NONE), f.get(k, _NONE), spread[k]) for k in keys)

    ranked = sorted(zip(found, flat, strict=True), key=lambda p: (distance(p[1]), p[0].score is None, p[0].score or 0))
    return ranked[0][0]


_NONE = object()


def _differ(a: Any, b: Any, spread: float) -> float:
    if a is _NONE or b is _NONE:
        return 1.0
    if _number(a) and _number(b):
        return min(1.0, abs(float(a) - float(b)) / spread) if spread > 0 else float(a != b)
    return float(a != b)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _spread(values: list[Any]) -> float:
    numbers = [float(v) for v in values if _number(v)]
    return max(numbers) - min(numbers) if len(numbers) > 1 else 0.0


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _trial_folder(experiment: str, trial_id: str) -> str | None:
    """The folder of ``trial_id`` (Tune names it ``<trainable>_<trial id>_...``)."""
    for entry in os.scandir(experiment):
        if entry.is_dir() and f"_{trial_id}_" in f"_{entry.name}_":
            return entry.path
    return None
