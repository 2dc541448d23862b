"""Background runs of the MCP server: each one a ``raydt run SPEC`` (or ``raydt predict SPEC``, ``raydt resume DIR``)
subprocess.

The subprocess is the CLI itself, so Ray lives in its own process (never in the server), the result on its
stdout is the very document the CLI prints, and its stderr is the live view that ``live`` reads. Each run has
a folder ``<state dir>/mcp/runs/<runId>/`` (``RAYDT_STATE_DIR``, default ``~/.raydt``): ``run.json`` (the
record), ``spec.json`` (a spec given as an object), ``stderr.log`` and ``result.json``.

Rule: one run at a time (a second ``start`` while one runs raises ``RunInProgressError``: RUN_IN_PROGRESS), since
two Ray workloads on one machine fight over its CPUs. Imports no Ray.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raydt import results, state
from raydt.errors import InterruptedRunError, RunError, RunInProgressError, RunNotFoundError
from raydt.mcp import live

#: how the server starts the CLI (tests may point it at another program with the same contract)
CLI = (sys.executable, "-m", "raydt")
#: a run id: when it started (UTC) and six random hex digits
RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")


def state_dir() -> Path:
    return state.state_dir("mcp", "runs")


@dataclass
class Run:
    """One background run: its record on disk and, when this server started it, its process."""

    run_id: str
    folder: Path
    record: dict[str, Any]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return int(self.record["pid"])

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return _foreign_alive(self.pid, self.folder)


class Registry:
    """The runs this server knows: started here (with their process) or found on disk (earlier servers)."""

    def __init__(self, folder: Path | None = None, cli: tuple[str, ...] = CLI, cwd: Path | None = None) -> None:
        self.folder = folder or state_dir()
        self.cli = cli
        self.cwd = cwd or Path.cwd()
        self._runs: dict[str, Run] = {}
        self._lock = threading.RLock()

    def start(self, command: str, target: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
        """Start ``raydt <command> <target>`` (``run``, ``predict`` or ``resume``) in the background; its run
        document at once. ``spec``: a spec given as an object, written to the run's ``spec.json`` (then the target)."""
        with self._lock:
            busy = self.active()
            if busy is not None:
                raise RunInProgressError(
                    f"one run at a time: run {busy.run_id} is still running (pid {busy.pid})",
                    hint=f"Poll get_run with runId {busy.run_id!r} until it ends, or stop it with cancel_run.",
                )
            run_id = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
            folder = self.folder / run_id
            folder.mkdir(parents=True)
            if spec is not None:
                target = str(folder / "spec.json")
                Path(target).write_text(json.dumps(spec, indent=2), encoding="utf-8")
            argv = [*self.cli, command, target]
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            with (folder / "result.json").open("wb") as out, (folder / "stderr.log").open("wb") as err:
                process = subprocess.Popen(  # its own session: a Ctrl-C meant for the server does not reach it
                    argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=self.cwd, env=env,
                    start_new_session=True,
                )  # fmt: skip
            record = {"runId": run_id, "command": command, "target": target, "argv": argv, "pid": process.pid,
                      "cwd": str(self.cwd), "startedAt": time.time()}  # fmt: skip
            run = Run(run_id, folder, record, process)
            self._write(run)
            self._runs[run_id] = run
            return self.document(run_id)

    def active(self) -> Run | None:
        """The run that is running now, if any (started here or by an earlier server)."""
        with self._lock:
            return next((run for run in self._all() if run.alive()), None)

    def get(self, run_id: str) -> Run:
        with self._lock:
            run = self._runs.get(run_id) or self._load(run_id)
            if run is None:
                known = [r.run_id for r in self._all()][-5:]
                raise RunNotFoundError(
                    f"runId {run_id!r} names no run of this server",
                    hint=f"list_runs shows every run; the latest: {', '.join(known) or 'none yet'}.",
                )
            return run

    def document(self, run_id: str, *, with_result: bool = True) -> dict[str, Any]:
        """The run document: runId, state, pid, times, files, live progress and (once ended) the result."""
        run = self.get(run_id)
        running = run.alive()
        doc: dict[str, Any] = {
            "runId": run.run_id,
            "state": "running",
            "command": run.record["command"],
            "target": run.record["target"],
            "pid": run.pid,
            "startedAt": _iso(run.record["startedAt"]),
            "elapsedS": round(time.time() - run.record["startedAt"], 1),
            "stderrLog": str(run.folder / "stderr.log"),
            "progress": live.read(run.folder / "stderr.log"),
        }
        if running:
            return doc
        result = self._result(run)
        doc["state"] = _state(result, bool(run.record.get("cancelRequested")))
        doc["exitCode"] = run.process.returncode if run.process is not None else run.record.get("exitCode")
        if "endedAt" not in run.record:
            run.record.update(endedAt=time.time(), exitCode=doc["exitCode"])
            self._write(run)
        doc["elapsedS"] = round(run.record["endedAt"] - run.record["startedAt"], 1)
        if with_result:
            doc["result"] = result
        return doc

    def cancel(self, run_id: str, timeout_s: float) -> dict[str, Any]:
        """Ctrl-C the run (SIGINT to its pid: raydt stops cleanly with a ``partial`` result) and wait up to
        ``timeout_s`` for it to end; then a second SIGINT, and SIGKILL to its process group 10 s later."""
        run = self.get(run_id)
        if run.alive():
            run.record["cancelRequested"] = True
            self._write(run)
            lives = _lives([run])
            state.send(run.pid, signal.SIGINT)
            if state.wait_gone([run.pid], timeout_s, lives=lives):
                state.stop([run.pid], 10.0, first=signal.SIGINT, kill_wait_s=5.0, group=True, lives=lives)
        return self.document(run_id)

    def documents(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self.document(run.run_id, with_result=False) for run in self._all()]

    def shutdown(self, grace_s: float = 3.0) -> list[int]:
        """Stop every run this server started (SIGINT, then SIGKILL to its group after ``grace_s``): their pids."""
        live_runs = [run for run in self._runs.values() if run.alive()]
        for run in live_runs:
            run.record["cancelRequested"] = True
            self._write(run)
        pids = [run.pid for run in live_runs]
        state.stop(pids, grace_s, first=signal.SIGINT, kill_wait_s=2.0, group=True, lives=_lives(live_runs))
        return pids

    def _all(self) -> list[Run]:
        on_disk = {p.parent.name for p in self.folder.glob("*/run.json")}
        ids = sorted({*self._runs, *on_disk})
        found = (self._runs.get(i) or self._load(i) for i in ids)
        return [run for run in found if run is not None]

    def _load(self, run_id: str) -> Run | None:
        path = self.folder / run_id / "run.json"
        if not RUN_ID.fullmatch(run_id) or not path.is_file():  # a run id never names a path elsewhere
            return None
        record = state.read_json(path)
        return None if record is None else Run(run_id, path.parent, record)

    def _write(self, run: Run) -> None:
        state.write_json_atomic(run.folder / "run.json", run.record)  # threads write records too

    def _result(self, run: Run) -> dict[str, Any]:
        """The CLI's result document, or an error result when the process ended without printing one."""
        try:
            doc = json.loads((run.folder / "result.json").read_text(encoding="utf-8"))
            if isinstance(doc, dict) and "status" in doc:
                return doc
        except (OSError, ValueError):
            pass
        code = run.process.returncode if run.process is not None else run.record.get("exitCode")
        err = RunError(
            f"the run's process (pid {run.pid}) ended with exit code {code} without printing a result",
            hint=f"Read its live view in {run.folder / 'stderr.log'} and the logFile it names.",
        )
        err.details = {"stderrTail": _tail(run.folder / "stderr.log")}
        return results.error_result(err)


def _state(result: dict[str, Any], cancelled: bool) -> str:
    status = result.get("status")
    if status == results.SUCCESS:
        return "succeeded"
    if cancelled and (status == results.PARTIAL or result.get("error", {}).get("code") == InterruptedRunError.code):
        return "cancelled"
    return "partial" if status == results.PARTIAL else "failed"


def _lives(runs: list[Run]) -> Callable[[int], bool]:
    """Whether the run with a pid still runs (``Run.alive``: its own process polled, or an earlier server's)."""
    by_pid = {run.pid: run for run in runs}
    return lambda pid: by_pid[pid].alive()


def _foreign_alive(pid: int, folder: Path) -> bool:
    """A run of an earlier server: alive while ``pid`` lives and still names the run's folder or target."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    if not state.alive(pid):
        return False
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    return str(record.get("target")) in cmdline.split("\0")


def _tail(path: Path, lines: int = 20) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def _iso(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
