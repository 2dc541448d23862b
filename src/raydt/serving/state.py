"""Running serve runs (foreground or detached): each records itself in ``<port>.state.json`` under
``~/.raydt/serve`` (``RAYDT_STATE_DIR``), refreshes its replica counts from Ray Serve every 2 s, and removes
the file when it stops, so that ``raydt serve status`` and ``raydt serve shutdown`` find it. Imports no Ray."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from raydt import state as local


def directory() -> Path:
    return local.state_dir("serve", create=True)


def record(port: int, data: dict[str, Any]) -> Path:
    return local.write_json_atomic(directory() / f"{port}.state.json", data, default=str)  # never half a file


def entries() -> list[dict[str, Any]]:
    """Every recorded serve run, with whether its process lives and its endpoint answers."""
    found = []
    for path in sorted(directory().glob("*.state.json")):
        data = local.read_json(path)
        if data is None:
            continue
        data["stateFile"] = str(path)
        data["alive"] = local.alive(int(data.get("pid", 0)))
        data["healthy"] = data["alive"] and healthy(str(data.get("endpoint", "")))
        found.append(data)
    return found


def healthy(endpoint: str) -> bool:
    """The endpoint answers /healthz (a 401 of a token-protected endpoint counts: it is up)."""
    try:
        with urllib.request.urlopen(f"{endpoint}/healthz", timeout=5) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError as err:
        return err.code == 401
    except (urllib.error.URLError, OSError, ValueError):
        return False


def stop(entry: dict[str, Any], timeout: float = 90.0) -> bool:
    """SIGTERM the detached run (it shuts Serve and its Ray down) and wait; SIGKILL after ``timeout``. Its record
    is removed; True when the run has ended."""
    left = local.stop([int(entry.get("pid", 0))], timeout)
    Path(entry["stateFile"]).unlink(missing_ok=True)
    return not left
