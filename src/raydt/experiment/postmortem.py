"""Post-mortems: what ``raydt explain`` needs of a failure, copied into the experiment folder when it happens, so it
outlives the cluster (a RayJob's cluster, its Ray logs with it, is deleted when the job ends).

Written by the driver (never by the failing worker) when a trial or a training worker fails: the Tune ledger's
callback (``runners.tune.watch``) and the train relay (``progress.relay``) call ``record``. One folder per failure,
``raydt_postmortem/<trial id|train>-<n>/``, at most ``MAX_POSTMORTEMS`` per experiment:

    error.txt        the failure's text (the exception and its traceback)
    node.json        memory and disk (the storage's, Ray's temp dir's) of the driver's node at that moment
    logs/            the last ``TAIL_LINES`` lines (at most ``TAIL_BYTES``) of the failing worker's Ray logs: the
                     ``worker-*-<pid>.err/.out`` of each pid the error names (or the trial reported), a train
                     run's ``logs/train/ray-train-app-*.log`` (found by run name), and the raylet's ``raylet.out``
    postmortem.json  what was copied, and what was not reachable and why

The driver reads its own node's files only: a worker on another node is asked for through Ray's State API
(``ray.util.state.get_log``, bounded by a timeout) and, when that fails too, listed as not reachable. Nothing here
ever fails a run: an error while copying is logged as a warning and the post-mortem is left as far as it got.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raydt.experiment import (
    MAX_POSTMORTEMS,
    POSTMORTEM_DIR,
    POSTMORTEM_ERROR,
    POSTMORTEM_INDEX,
    POSTMORTEM_LOGS,
    POSTMORTEM_NODE,
)

log = logging.getLogger(__name__)

TAIL_LINES, TAIL_BYTES = 200, 256 << 10
MAX_LOG_FILES = 12
MAX_ERROR_CHARS = 64_000
#: Ray's task and actor errors name the process: ``(pid=1234, ip=10.0.0.5, ...)``, ``pid: 1234``, ``node_ip='...'``
_PID = re.compile(r"\bpid[=:]\s*(\d+)")
_IP = re.compile(r"\b(?:node_)?ip[=:]\s*['\"]?(\d{1,3}(?:\.\d{1,3}){3})")
_KEY = re.compile(r"[^\w.\-]+")

#: (node ip, pid) -> the tail of that worker's error output on its node, or None
Fetch = Callable[[str, int], str | None]


@dataclass
class Where:
    """Where the failing worker's logs may be: the driver's Ray session folder, its node's IP, the run's name (Ray
    Train's log lines carry it), and how to ask another node for a worker's log."""

    session: Path | None = None
    node_ip: str | None = None
    run_name: str | None = None
    temp_dir: Path | None = None
    fetch: Fetch | None = None


@dataclass
class _Index:
    key: str
    time: float
    pids: list[int]
    ips: list[str]
    copied: list[dict[str, Any]] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


def pids_and_ips(text: str) -> tuple[list[int], list[str]]:
    """The process ids and node IPs a Ray error names (in order, each once)."""
    pids = list(dict.fromkeys(int(p) for p in _PID.findall(text)))
    return pids, list(dict.fromkeys(_IP.findall(text)))


def record(experiment_path: str, key: str, error: str, pids: Iterable[int] = (), run_name: str | None = None) -> None:
    """The driver's hook: write a post-mortem of the failure ``key`` (a trial id, or ``train``); never raises."""
    try:
        from raydt.paths import is_remote

        if not experiment_path or is_remote(experiment_path):
            return  # a URI storage: not written (said in the docs)
        write(Path(experiment_path), key, error, pids, driver_where(run_name))
    except Exception as exc:  # noqa: BLE001 - a post-mortem must never fail the run
        log.warning("raydt: post-mortem of %s not written: %s: %s", key, type(exc).__name__, exc)


def write(experiment: Path, key: str, error: str, pids: Iterable[int], where: Where) -> Path | None:
    """Write one post-mortem; its folder, or None when the experiment already keeps ``MAX_POSTMORTEMS``."""
    root = experiment / POSTMORTEM_DIR
    existing = [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
    if len(existing) >= MAX_POSTMORTEMS:
        return None
    safe = _KEY.sub("_", key)[:80] or "failure"
    n = 1 + sum(1 for p in existing if p.name.rsplit("-", 1)[0] == safe)
    folder = root / f"{safe}-{n}"
    (folder / POSTMORTEM_LOGS).mkdir(parents=True, exist_ok=True)
    (folder / POSTMORTEM_ERROR).write_text(error[-MAX_ERROR_CHARS:], encoding="utf-8")
    named, ips = pids_and_ips(error)
    index = _Index(key, time.time(), list(dict.fromkeys([*pids, *named])), ips)
    (folder / POSTMORTEM_NODE).write_text(json.dumps(node_state(experiment, where), indent=2), encoding="utf-8")
    try:
        _copy_logs(folder / POSTMORTEM_LOGS, index, where)
    finally:
        _write_index(folder, index, where)
    return folder


def _write_index(folder: Path, index: _Index, where: Where) -> None:
    doc = {
        "key": index.key,
        "time": index.time,
        "pids": index.pids,
        "nodeIps": index.ips,
        "driverNodeIp": where.node_ip,
        "session": str(where.session) if where.session else None,
        "copied": index.copied,
        "unreachable": index.unreachable,
    }
    (folder / POSTMORTEM_INDEX).write_text(json.dumps(doc, indent=2), encoding="utf-8")


def _copy_logs(out: Path, index: _Index, where: Where) -> None:
    """The tails of the failing worker's logs, the run's Ray Train logs and the raylet's log, into ``out``."""
    logs = where.session / "logs" if where.session is not None else None
    if logs is None or not logs.is_dir():
        index.unreachable.append("Ray's session logs: not found on the driver's node")
        return
    files: list[Path] = []
    for pid in index.pids:
        mine = sorted(logs.glob(f"worker-*-{pid}.err")) + sorted(logs.glob(f"worker-*-{pid}.out"))
        if mine:
            files += mine
        elif not _fetch(out, index, where, pid):
            index.unreachable.append(f"pid {pid}: no log of it in {logs} (it ran on another node, or Ray removed it)")
    if where.run_name:
        files += _train_logs(logs, where.run_name)
    if not index.pids and not where.run_name:
        index.unreachable.append("no process id in the error: the worker's own log is unknown")
    files += [p for p in [logs / "raylet.out"] if p.is_file()]
    for path in list(dict.fromkeys(files))[:MAX_LOG_FILES]:
        text = tail_text(path)
        (out / path.name).write_text(text, encoding="utf-8")
        index.copied.append({"file": path.name, "from": str(path), "bytes": len(text.encode())})


def _train_logs(logs: Path, run_name: str) -> list[Path]:
    """Ray Train's logs of the run (controller and workers: each line names its run), and each worker's own
    ``worker-<worker id>-*.err``."""
    needle = f'"run_name": {json.dumps(run_name)}'
    out: list[Path] = []
    for path in sorted((logs / "train").glob("ray-train-app-*.log")):
        try:
            with path.open(encoding="utf-8", errors="replace") as fh:
                head = fh.read(64 << 10)
        except OSError:
            continue
        if needle in head:
            out.append(path)
            if path.stem.startswith("ray-train-app-worker-"):
                out += sorted(logs.glob(f"worker-{path.stem.rsplit('-', 1)[-1]}-*.err"))
    return out


def _fetch(out: Path, index: _Index, where: Where, pid: int) -> bool:
    """A worker on another node: its error output through ``where.fetch`` (Ray's State API)."""
    others = [ip for ip in index.ips if ip != where.node_ip]
    if where.fetch is None or not others:
        return False
    try:
        text = where.fetch(others[0], pid)
    except Exception:  # noqa: BLE001 - the State API is best effort
        text = None
    if not text:
        return False
    name = f"worker-{pid}@{others[0]}.err"
    text = _last(text)
    (out / name).write_text(text, encoding="utf-8")
    index.copied.append({"file": name, "from": f"ray.util.state.get_log(node_ip={others[0]}, pid={pid})"})
    return True


def tail_text(path: Path) -> str:
    """The last ``TAIL_LINES`` lines of ``path``, at most ``TAIL_BYTES`` of it."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - TAIL_BYTES))
        data = fh.read()
    return _last(data.decode("utf-8", "replace"))


def _last(text: str) -> str:
    lines = text.splitlines()[-TAIL_LINES:]
    return "\n".join(lines)[-TAIL_BYTES:] + ("\n" if lines else "")


def node_state(experiment: Path, where: Where) -> dict[str, Any]:
    """Memory and disk of this (the driver's) node now; the failing worker's node may be another one."""
    out: dict[str, Any] = {
        "time": time.time(),
        "hostname": socket.gethostname(),
        "nodeIp": where.node_ip,
        "scope": "the driver's node: a worker on another node may have seen other figures",
    }
    try:
        import importlib

        mem = importlib.import_module("psutil").virtual_memory()  # untyped: no stubs installed
        out["memory"] = {"totalBytes": mem.total, "availableBytes": mem.available, "percent": mem.percent}
    except Exception as exc:  # noqa: BLE001 - psutil comes with Ray; still, the figures are extras
        out["memory"] = {"error": f"{type(exc).__name__}: {exc}"}
    out["disks"] = [_disk(label, path) for label, path in (("storage", experiment), ("rayTemp", where.temp_dir))]
    return out


def _disk(label: str, path: Path | None) -> dict[str, Any]:
    if path is None:
        return {"what": label, "error": "unknown"}
    try:
        du = shutil.disk_usage(path)
    except OSError as exc:
        return {"what": label, "path": str(path), "error": str(exc)}
    used = round(100 * du.used / du.total, 1) if du.total else None
    return {"what": label, "path": str(path), "totalBytes": du.total, "freeBytes": du.free, "percent": used}


def driver_where(run_name: str | None) -> Where:
    """Where this driver's Ray keeps its logs (Ray's public runtime context), and Ray's State API to ask another
    node; an empty ``Where`` when Ray is not initialised here."""
    where = Where(run_name=run_name)
    try:
        import ray

        if not ray.is_initialized():
            return where
        ctx = ray.get_runtime_context()
        where.temp_dir = Path(ctx.get_temp_dir())
        session = where.temp_dir / ctx.get_session_name()
        where.session = session if session.is_dir() else None
        where.node_ip = ray.util.get_node_ip_address()
    except Exception:  # noqa: BLE001 - a Ray Client driver, an older Ray: copy what can be found
        return where
    where.fetch = _state_api_tail
    return where


def _state_api_tail(node_ip: str, pid: int) -> str | None:
    """The tail of a worker's error output on another node, through the dashboard (5 s at most)."""
    from ray.util.state import get_log

    return "".join(get_log(node_ip=node_ip, pid=pid, suffix="err", tail=TAIL_LINES, timeout=5, errors="replace"))
