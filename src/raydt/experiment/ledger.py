"""raydt's trial ledger of a search (``raydt_trials.jsonl``), a train run's ledger (``raydt_train.jsonl``) and the
keys Ray Tune adds to every result: read by the results, the report, ``raydt explain`` and a warm start (which
validation checks), so this module imports nothing of raydt."""

from __future__ import annotations

import json
import os
from typing import Any

#: the trial ledger is written by the tune watchers, one JSON line per event; the train ledger by the relay
from raydt.experiment import LEDGER_FILE as LEDGER_FILE
from raydt.experiment import TRAIN_LEDGER as TRAIN_LEDGER

#: The event a finished train or tune run appends to its ledger (``runners.cost``): its measured wall time, trials
#: and trials at once, which ``raydt plan`` reads back as the experiment's history (``forecast.measure``).
RAN_EVENT = "ran"


def json_lines(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file (a ledger, a trial's result.json); a line cut off by a crash, or a file
    that cannot be read, gives none."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return []
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def clip_error(text: str, limit: int = 4000) -> str:
    """A worker's error as the train ledger keeps it: up to ``limit`` characters, its start and its end kept (a
    traceback's last line names the exception, which ``raydt explain`` reads from the ledger)."""
    if len(text) <= limit:
        return text
    head = limit // 4
    return f"{text[:head]}\n...\n{text[-(limit - head - 5) :]}"


#: Keys Ray Tune adds to every result (kept out of the live view and of per-trial metrics).
TUNE_AUTO_KEYS = frozenset(
    {
        "done",
        "training_iteration",
        "trial_id",
        "date",
        "timestamp",
        "time_this_iter_s",
        "time_total_s",
        "pid",
        "hostname",
        "node_ip",
        "config",
        "time_since_restore",
        "iterations_since_restore",
        "checkpoint_dir_name",
        "experiment_tag",
        "should_checkpoint",
    }
)


def append(experiment_path: str, event: dict[str, Any], name: str = LEDGER_FILE) -> None:
    """Add one event (a JSON line) to the experiment's ledger (``name``: the trial ledger, or the train ledger)."""
    os.makedirs(experiment_path, exist_ok=True)
    with open(os.path.join(experiment_path, name), "a", encoding="utf-8") as fh:
        fh.write(json.dumps(event) + "\n")


def read_ledger(experiment_path: str) -> dict[str, Any] | None:
    """How each trial ended, {"ended": {id: "complete" | "error"}, "retries": {id: [{code, error}]}}, and the
    latest "plan" (what the search ran with: searchAlgorithm, scheduler, maxConcurrentTrials, ...) when one was
    recorded (None: a search started before raydt kept a ledger)."""
    try:
        with open(os.path.join(experiment_path, LEDGER_FILE), encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    data: dict[str, Any] = {"ended": {}, "retries": {}}
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:  # a line cut off by a crash
            continue
        if event.get("event") == "retry":
            data["retries"].setdefault(event["trial"], []).append({"code": event["code"], "error": event["error"]})
        elif event.get("event") in ("complete", "error"):
            data["ended"][event["trial"]] = event["event"]
        elif event.get("event") in ("goal", "maxFailed"):  # stopAt reached, maxFailedTrials hit (kept for resume)
            data[event["event"]] = True
        elif event.get("event") == "plan":  # the resolved settings, for a report written later (the last wins)
            data["plan"] = {k: v for k, v in event.items() if k != "event"}
    return data
