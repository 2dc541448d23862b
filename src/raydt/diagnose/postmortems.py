"""What a post-mortem's ``node.json`` adds to a cause: the memory and disk of the driver's node when the failure
was recorded (``experiment.postmortem``), said in the summary of a memory or disk cause, or of any cause when a
disk was nearly full."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: causes whose summary gets the node's memory
_MEMORY = frozenset({"OUT_OF_MEMORY", "OBJECT_STORE_FULL", "WORKER_DIED"})
#: a disk this full is worth saying whatever the cause (Ray stops spilling at 95%)
FULL_DISK_PERCENT = 95.0
GB = 1 << 30


def with_node_state(causes: list[dict[str, Any]], nodes: list[Path]) -> list[dict[str, Any]]:
    """``causes`` with the last post-mortem's node state in the summaries it concerns."""
    state = _last(nodes)
    if state is None:
        return causes
    memory, disks = _memory(state), _full_disks(state)
    for cause in causes:
        notes = [memory] if memory and cause.get("code") in _MEMORY else []
        notes += disks
        if notes:
            cause["summary"] = f"{cause['summary']}; at the failure (post-mortem): {', '.join(notes)}"
    return causes


def _last(nodes: list[Path]) -> dict[str, Any] | None:
    states = []
    for path in nodes:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict):
            states.append(doc)
    return max(states, key=lambda d: float(d.get("time") or 0), default=None)


def _memory(state: dict[str, Any]) -> str | None:
    mem = state.get("memory") or {}
    if not isinstance(mem, dict) or not isinstance(mem.get("totalBytes"), int | float):
        return None
    where = f"node {state['nodeIp']}" if state.get("nodeIp") else "the driver's node"
    return (
        f"{where} had {mem.get('availableBytes', 0) / GB:.1f} of {mem['totalBytes'] / GB:.1f} GB memory available "
        f"({mem.get('percent')}% used)"
    )


def _full_disks(state: dict[str, Any]) -> list[str]:
    out = []
    for disk in state.get("disks") or []:
        if isinstance(disk, dict) and isinstance(disk.get("percent"), int | float):
            if disk["percent"] >= FULL_DISK_PERCENT:
                out.append(f"the {disk.get('what')} disk {disk.get('path')} was {disk['percent']}% full")
    return out
