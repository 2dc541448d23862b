"""Where ``raydt explain`` looks: from an experiment folder, a log file or a stored result, every file that can
show why a run failed. Nothing is imported from Ray; files are read as text.

- the result (a ``raydt run ... > result.json``): its error, its trials' errors, and the paths it names;
- the experiment (``experimentPath``): ``raydt_spec.json`` (the run's name), the trial ledger
  ``raydt_trials.jsonl`` (a search) or the train ledger ``raydt_train.jsonl`` (a train run: each worker failure
  with its traceback), each trial's ``error.txt`` (Tune writes it into the trial's folder; Ray also keeps a copy
  in the session's ``artifacts/.../driver_artifacts``);
- the CLI's log file (``logFile``: ``<storage>/logs/<name>-<time>-<pid>.log``), Ray's and the trainer's output;
- Ray's session logs (``raylet.out``: the memory monitor's kills; ``worker-*.err``; Ray Train's
  ``logs/train/ray-train-app-*.log``) of the session the log names or the CLI's embedded Ray ran, when still there;
- the post-mortems (``raydt_postmortem/<key>-<n>/``, ``experiment.postmortem``): each failure's error (for a trial
  whose folder has no ``error.txt``), the tails of Ray's logs copied when it failed (read instead of the session's
  files of the same name, which may be gone), and the node's memory and disk then (``node.json``);
- in a bundle (``sessions=False``): the stored result ``raydt_result.json``, and no session logs at all (they would
  be this machine's, not the run's).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raydt.experiment import LEDGER_FILE as LEDGER
from raydt.experiment import (
    LOGS_DIR,
    POSTMORTEM_DIR,
    POSTMORTEM_ERROR,
    POSTMORTEM_INDEX,
    POSTMORTEM_LOGS,
    POSTMORTEM_NODE,
    RESULT_FILE,
    SPEC_FILE,
    TRAIN_LEDGER,
)

#: the most of a file that is read (its end: where the failure is)
MAX_BYTES = 4 << 20
#: the most read of each of Ray's own log files (a session has one per worker process)
RAY_LOG_BYTES = 256 << 10
SESSION = re.compile(r"(/[\w.\-/]*?/session_\d{4}-\d\d-\d\d_[\d\-]+_\d+_\d+)")
#: the CLI's log file: ``<name>-<YYYYmmdd-HHMMSS>-<pid>.log``; an embedded Ray's session folder ends in that pid
LOG_PID = re.compile(r"-(\d+)\.log$")


def ray_roots() -> list[Path]:
    """Where Ray keeps its sessions: /tmp/ray, or RAY_TMPDIR's."""
    roots = [Path("/tmp/ray")]
    if os.environ.get("RAY_TMPDIR"):
        roots.append(Path(os.environ["RAY_TMPDIR"]) / "ray")
    return roots


@dataclass
class Found:
    """The files of one failed or partial run."""

    result: dict[str, Any] | None = None
    result_file: Path | None = None
    experiment: Path | None = None
    name: str | None = None
    logs: list[Path] = field(default_factory=list)
    errors: dict[str, Path] = field(default_factory=dict)  # trial id -> its error.txt
    trials: set[str] = field(default_factory=set)  # every trial id of the experiment
    ledger: Path | None = None
    train_ledger: Path | None = None  # a train run's: its worker failures
    ray_logs: list[Path] = field(default_factory=list)
    postmortems: list[Path] = field(default_factory=list)  # raydt_postmortem/<key>-<n>/ folders
    nodes: list[Path] = field(default_factory=list)  # their node.json files


def read_lines(path: Path, limit: int = MAX_BYTES) -> list[str]:
    """The file's lines (undecodable bytes replaced); of a file larger than ``limit``, only its end."""
    return tail(path, limit)[1]


def tail(path: Path, limit: int = MAX_BYTES) -> tuple[int, list[str]]:
    """(number of the first line returned, the lines of the file's last ``limit`` bytes, whole lines only)."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            skip, skipped_lines = max(0, size - limit), 0
            fh.seek(0)
            while fh.tell() < skip:  # count the lines left out, so line numbers stay the file's
                skipped_lines += fh.read(min(1 << 20, skip - fh.tell())).count(b"\n")
            data = fh.read()
    except OSError:
        return 1, []
    lines = data.decode("utf-8", "replace").splitlines()
    if skip and lines:  # the first line is cut: drop it
        return skipped_lines + 2, lines[1:]
    return skipped_lines + 1, lines


def find(path: Path, sessions: bool = True) -> Found:
    """Everything about the run ``path`` names (a folder: an experiment; a file: a result or a log);
    ``sessions``: also this machine's Ray session logs (False for a bundle: it comes from another machine)."""
    found = Found()
    if path.is_dir():
        found.experiment = path
        stored = _result(path / RESULT_FILE) if (path / RESULT_FILE).is_file() else None
        if stored is not None:
            found.result, found.result_file = stored, path / RESULT_FILE
    else:
        doc = _result(path)
        if doc is None:
            found.logs.append(path)
        else:
            found.result, found.result_file = doc, path
            rows = [r for r in doc.get("trials") or [] if isinstance(r, dict) and r.get("trialId")]
            found.trials |= {str(r["trialId"]) for r in rows}
            if isinstance(doc.get("experimentPath"), str) and Path(doc["experimentPath"]).is_dir():
                found.experiment = Path(doc["experimentPath"])
            if isinstance(doc.get("logFile"), str) and Path(doc["logFile"]).is_file():
                found.logs.append(Path(doc["logFile"]))
    if found.experiment is not None:
        _experiment(found, found.experiment, sessions)
        _postmortems(found, found.experiment)
    copied = {p.name for p in found.ray_logs}
    found.ray_logs += [p for p in (_ray_logs(found) if sessions else []) if p.name not in copied]
    return found


def _result(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and "status" in doc and "results" in doc else None


def trial_id(folder_name: str) -> str:
    """Tune's trial id from its folder name (``trial_3d2a1_00001_1_lr=0.1_...`` -> ``3d2a1_00001``)."""
    parts = folder_name.split("_")
    if len(parts) >= 3 and parts[0] == "trial" and parts[2].isdigit():
        return f"{parts[1]}_{parts[2]}"
    return parts[1] if len(parts) >= 2 else folder_name


def _experiment(found: Found, exp: Path, sessions: bool) -> None:
    try:
        spec = json.loads((exp / SPEC_FILE).read_text(encoding="utf-8"))
        found.name = str(spec.get("runConfig", {}).get("name") or exp.name)
    except (OSError, ValueError, AttributeError):
        found.name = exp.name
    for trial in sorted(p for p in exp.iterdir() if p.is_dir() and (p / "params.json").exists()):
        tid = trial_id(trial.name)
        found.trials.add(tid)
        if (trial / "error.txt").is_file():
            found.errors[tid] = trial / "error.txt"
    if (exp / LEDGER).is_file():
        found.ledger = exp / LEDGER
    if (exp / TRAIN_LEDGER).is_file():
        found.train_ledger = exp / TRAIN_LEDGER
    if (
        not found.errors and found.trials and sessions
    ):  # Ray's copy, in the session folder, when the trial folder lacks one
        for root in ray_roots():
            for err in root.glob(f"session_*/artifacts/*/{found.name}/driver_artifacts/*/error.txt"):
                found.errors.setdefault(trial_id(err.parent.name), err)
    if not found.logs:
        logs = sorted((exp.parent / LOGS_DIR).glob(f"{found.name}-*.log"), key=lambda p: p.stat().st_mtime)
        found.logs += logs[-2:][::-1]  # the latest run first (a resumed experiment has several)


def _postmortems(found: Found, exp: Path) -> None:
    """The post-mortems' errors (a trial's, when its folder kept no error.txt; the run's, when there is no train
    ledger), the log tails they copied (read as Ray's logs) and their node states."""
    folders = [p for p in (exp / POSTMORTEM_DIR).glob("*-*") if p.is_dir()]
    for folder in sorted(folders, key=lambda p: (p.name.rsplit("-", 1)[0], _number(p.name))):  # the last one wins
        try:
            key = str(json.loads((folder / POSTMORTEM_INDEX).read_text(encoding="utf-8"))["key"])
        except (OSError, ValueError, KeyError, TypeError):
            key = folder.name.rsplit("-", 1)[0]
        found.postmortems.append(folder)
        error = folder / POSTMORTEM_ERROR
        if key == "train":
            if found.train_ledger is None and error.is_file():
                found.logs.append(error)
        elif error.is_file():
            tid = next((t for t in sorted(found.trials) if t == key or t.startswith(f"{key}_")), key)
            if tid not in found.errors or POSTMORTEM_DIR in found.errors[tid].parts:
                found.errors[tid] = error  # the trial's folder kept no error.txt (or an earlier post-mortem)
            found.trials.add(tid)
        found.ray_logs += sorted(p for p in (folder / POSTMORTEM_LOGS).glob("*") if p.is_file())
        found.nodes += [p for p in [folder / POSTMORTEM_NODE] if p.is_file()]


def _number(name: str) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _ray_logs(found: Found) -> list[Path]:
    """Ray's own logs (the raylet's and the workers' error output) of the sessions the log files name, or of the
    embedded Ray the CLI started (its session folder ends in the CLI's pid, which the log file's name carries)."""
    sessions: list[str] = []
    for log in found.logs:
        pid = LOG_PID.search(log.name)
        named = [str(s) for root in ray_roots() for s in root.glob(f"session_*_{pid.group(1)}")] if pid else []
        for match in named + [m for line in read_lines(log) for m in SESSION.findall(line)]:
            if match not in sessions:
                sessions.append(match)
    out: list[Path] = []
    for session in sessions[:3]:
        logs = Path(session) / "logs"
        if logs.is_dir():
            out += [p for p in [logs / "raylet.out"] if p.is_file()]
            out += sorted(logs.glob("worker-*.err"))[:200]
            out += sorted((logs / "train").glob("ray-train-app-*.log"))[:50]  # Ray Train's controller and workers
    return out
