"""An earlier search's finished trials, read from its experiment folder for a warm start. Ray-free.

A trial folder holds ``params.json`` (its config) and ``result.json`` (one line per report); raydt's ledger
(``raydt_trials.jsonl``) says which trials ran to their end: only those seed the new search (a trial that
failed or was cut off says nothing reliable about its config).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from raydt.experiment.ledger import LEDGER_FILE, TUNE_AUTO_KEYS, read_ledger


@dataclass(frozen=True)
class EarlierTrial:
    """One finished trial of the earlier search: its config and its last report (user metrics only)."""

    trial_id: str
    config: dict[str, Any]
    last: dict[str, Any]


def problem(path: str) -> str:
    """Why ``path`` cannot seed a search ('' when it can)."""
    if not os.path.isdir(path):
        return "does not exist (or is not a folder)"
    if not os.path.isfile(os.path.join(path, LEDGER_FILE)):
        return f"is not a raydt search's experiment folder (it has no {LEDGER_FILE}: a train run, or no experiment)"
    return ""


def finished_trials(path: str) -> list[EarlierTrial]:
    """Every trial of the search in ``path`` that ran to its end, in folder order."""
    ended = (read_ledger(path) or {}).get("ended", {})
    out = []
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        params, results = os.path.join(entry.path, "params.json"), os.path.join(entry.path, "result.json")
        if not entry.is_dir() or not os.path.isfile(params) or not os.path.isfile(results):
            continue
        last = _last_line(results)
        trial_id = str(last.get("trial_id", ""))
        if ended.get(trial_id) != "complete":
            continue
        with open(params, encoding="utf-8") as fh:
            config = json.load(fh)
        metrics = {k: v for k, v in last.items() if k not in TUNE_AUTO_KEYS}
        out.append(EarlierTrial(trial_id, config, metrics))
    return out


def _last_line(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        lines = [ln for ln in fh.read().splitlines() if ln.strip()]
    for line in reversed(lines):
        try:
            found = json.loads(line)
        except ValueError:  # a line cut off by a crash
            continue
        return found if isinstance(found, dict) else {}
    return {}
