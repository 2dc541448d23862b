"""The record of the cluster ``raydt cluster up`` started: ``clusters/cluster.json`` under ``~/.raydt``
(``RAYDT_STATE_DIR``), written atomically. A record whose head has died is no running cluster (``running``), but it
is not forgotten either (``dead``): a run must not quietly go elsewhere than the cluster the user set up. Imports no
Ray."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from raydt.clusters import procs
from raydt.state import read_json, state_dir, write_json_atomic

RECORD = "cluster.json"


def directory() -> Path:
    """``<state dir>/clusters``: the record, and one folder per cluster (token, logs)."""
    return state_dir("clusters", create=True)


def record_path() -> Path:
    return directory() / RECORD


def write(data: dict[str, Any]) -> Path:
    """Write the record so that a reader never sees half of it (a scratch file, then a rename)."""
    return write_json_atomic(record_path(), data, default=str)


def read() -> dict[str, Any] | None:
    """The record as written, or None when there is none (or it cannot be read)."""
    return read_json(record_path())


def remove() -> None:
    record_path().unlink(missing_ok=True)


def head_alive(data: dict[str, Any]) -> bool:
    """The recorded head's GCS process still lives (and is still ours: it carries the cluster's tag)."""
    pid = int(data.get("headPid") or 0)
    return procs.belongs(pid, str(data.get("id", "")))


def running() -> dict[str, Any] | None:
    """The record of a cluster whose head lives; None when there is none or its head has died."""
    data = read()
    if data is None or not head_alive(data):
        return None
    return data


def dead() -> dict[str, Any] | None:
    """The record of a cluster whose head has died (until ``raydt cluster up`` or ``down`` clears it), else None."""
    data = read()
    return data if data is not None and not head_alive(data) else None
