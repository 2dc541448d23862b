"""Running serve runs (foreground or detached): each records itself in ``<port>.state.json`` under
``~/.raydt/serve`` (``RAYDT_STATE_DIR``), refreshes its replica counts from Ray Serve every 2 s, and removes
the file when it stops, so that ``raydt serve status`` and ``raydt serve shutdown`` find it. Imports no Ray."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def directory() -> Path:
    base = os.environ.get("RAYDT_STATE_DIR") or os.path.join(os.path.expanduser("~"), ".raydt")
    path = Path(base) / "serve"
    path.mkdir(parents=True, exist_ok=True)
    return path


def record(port: int, data: dict[str, Any]) -> Path:
    path = directory() / f"{port}.state.json"
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(scratch, path)  # readers never see half a file
    return path


def entries() -> list[dict[str, Any]]:
    """Every recorded serve run, with whether its process lives and its endpoint answers."""
    found = []
    for path in sorted(directory().glob("*.state.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        data["stateFile"] = str(path)
        data["alive"] = alive(int(data.get("pid", 0)))
        data["healthy"] = data["alive"] and healthy(str(data.get("endpoint", "")))
        found.append(data)
    return found


def alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not serving
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


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
    """SIGTERM the detached run (it shuts Serve and its Ray down) and wait; SIGKILL after ``timeout``."""
    pid = int(entry.get("pid", 0))
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    Path(entry["stateFile"]).unlink(missing_ok=True)
    return not alive(pid)
