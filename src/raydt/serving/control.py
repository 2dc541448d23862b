"""``raydt serve update`` -> the running serve process: a request file beside the run's state file, answered by a
reply file. The serving process owns its Ray connection and its Serve applications, so it makes the change itself
(between two refreshes of its state); the command waits for the reply. Imports no Ray."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from raydt import state as local
from raydt.serving.state import directory

#: how often the serving process looks for requests
POLL_S = 0.5


def ask(port: int, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
    """Hand ``request`` to the serve run on ``port`` and wait for its reply (None: no reply within ``timeout``;
    the request is then withdrawn unless already taken)."""
    key = uuid.uuid4().hex[:12]
    asked = local.write_json_atomic(directory() / f"{port}.request-{key}.json", request)
    reply = directory() / f"{port}.reply-{key}.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = local.read_json(reply)
        if found is not None:
            reply.unlink(missing_ok=True)
            return dict(found)
        time.sleep(0.2)
    asked.unlink(missing_ok=True)
    return None


def pending(port: int) -> list[tuple[str, dict[str, Any]]]:
    """The requests waiting for the serve run on ``port`` (taken: their files are removed), oldest first."""
    found = []
    for path in sorted(directory().glob(f"{port}.request-*.json"), key=_mtime):
        doc = local.read_json(path)
        path.unlink(missing_ok=True)
        if isinstance(doc, dict):
            found.append((path.name.split("request-", 1)[1].removesuffix(".json"), doc))
    return found


def _mtime(path: Path) -> float:
    """When the request was written; 0 for one withdrawn since it was listed (``ask`` timed out): never a crash of
    the serving process's poll."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def answer(port: int, key: str, reply: dict[str, Any]) -> Path:
    return local.write_json_atomic(directory() / f"{port}.reply-{key}.json", reply, default=str)
