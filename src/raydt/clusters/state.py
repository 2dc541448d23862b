"""The record of the cluster ``raydt cluster up`` started: ``clusters/cluster.json`` under ``~/.raydt``
(``RAYDT_STATE_DIR``), written atomically. A record whose head has died is no running cluster (``running``), but it
is not forgotten either (``dead``): a run must not quietly go elsewhere than the cluster the user set up. Imports no
Ray."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from raydt.clusters import procs

RECORD = "cluster.json"


def directory() -> Path:
    """``<state dir>/clusters``: the record, and one folder per cluster (token, logs)."""
    base = os.environ.get("RAYDT_STATE_DIR") or os.path.join(os.path.expanduser("~"), ".raydt")
    path = Path(base) / "clusters"
    path.mkdir(parents=True, exist_ok=True)
    return path


def record_path() -> Path:
    return directory() / RECORD


def write(data: dict[str, Any]) -> Path:
    """Write the record so that a reader never sees half of it (a scratch file, then a rename)."""
    path = record_path()
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(scratch, path)
    return path


def read() -> dict[str, Any] | None:
    """The record as written, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(record_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


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
