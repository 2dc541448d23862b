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


HISTORY = "history.jsonl"
#: events kept in the history file (the oldest go first)
HISTORY_KEEP = 200


def log_event(event: str, cluster_id: str, **fields: Any) -> None:
    """Append one event of a lasting cluster (up, down, idle-stop) to the history ``cluster status`` shows."""
    import json
    import time

    path = directory() / HISTORY
    line = json.dumps({"at": time.time(), "event": event, "id": cluster_id, **fields}, default=str)
    lines = [*history_lines(path)[-(HISTORY_KEEP - 1) :], line]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)


def history(limit: int = 10) -> list[dict[str, Any]]:
    """The last ``limit`` events, oldest first."""
    import json

    out = []
    for line in history_lines(directory() / HISTORY)[-limit:]:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def history_lines(path: Path) -> list[str]:
    try:
        return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except OSError:
        return []
