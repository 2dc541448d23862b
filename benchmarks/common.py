"""Shared harness: run raydt and its comparisons as real processes, alternating, and record medians.

Every case is a command line; each repetition runs every case once, in turn, so drift on a shared
machine hits all cases alike. Results go to ``benchmarks/results/<name>.json``; ``report.py`` turns all
of them into the table in BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PY = sys.executable
RAYDT = [PY, "-m", "raydt"]
# workers import the comparisons' objectives by module name: benchmarks/ on every process's path; src/: this
# checkout's raydt (a worktree's, not the one the venv installed)
ENV = dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", PYTHONPATH=f"{HERE}:{ROOT}:{ROOT / 'src'}")


def reps(default: int) -> int:
    """Repetitions: BENCH_REPS overrides every benchmark's default."""
    return int(os.environ.get("BENCH_REPS", default))


@dataclass
class Case:
    """One command line to time; ``parse`` reads a metric dict from its stdout (e.g. raydt's JSON)."""

    name: str
    argv: list[str]
    parse: Callable[[str], dict[str, Any]] | None = None
    #: reads what the run left in its working directory, given the directory and the start (epoch s)
    after: Callable[[Path, float], dict[str, Any]] | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)


#: what run_once measures itself
MEASURED = ("wallS", "exit", "peakRssMiB")


def run_once(case: Case, workdir: Path, timeout: float) -> dict[str, Any]:
    """Run ``case`` once with a fresh working directory as cwd; wall seconds, peak RSS of the process tree's
    largest child (MiB), exit code and what ``parse`` found."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(ENV, BENCH_WORKDIR=str(workdir))
    argv = [a.replace("{work}", str(workdir)) for a in case.argv]
    with open(workdir / "stdout.txt", "w+") as out, open(workdir / "stderr.txt", "w+") as err:
        started_at = time.time()
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=workdir, text=True)
        try:
            _, status, usage = _wait4(proc.pid, start + timeout)
        except TimeoutError:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    # ru_maxrss of wait4: the largest resident set of the process (and descendants it waited for), KiB
    row: dict[str, Any] = {
        "wallS": round(wall, 3),
        "exit": proc.returncode,
        "peakRssMiB": round(usage.ru_maxrss / 1024, 1),
    }
    if case.after is not None:
        try:
            row.update(case.after(workdir, started_at))
        except Exception as exc:  # noqa: BLE001
            row["afterError"] = f"{type(exc).__name__}: {exc}"
    if case.parse is not None:
        try:  # what the command reports never replaces what is measured here (wallS: the whole process)
            row.update({k if k not in MEASURED else f"reported_{k}": v for k, v in case.parse(stdout).items()})
        except Exception as exc:  # noqa: BLE001 - recorded, the table shows the failure
            row["parseError"] = f"{type(exc).__name__}: {exc}"
            row["stderrTail"] = stderr[-2000:]
    if proc.returncode not in (0, 3):
        row["stderrTail"] = stderr[-2000:]
    return row


def _wait4(pid: int, deadline: float) -> tuple[int, int, Any]:
    """os.wait4 for ``pid`` until ``deadline`` (perf_counter); TimeoutError after it."""
    while True:
        found, status, usage = os.wait4(pid, os.WNOHANG)
        if found:
            return found, status, usage
        if time.perf_counter() > deadline:
            raise TimeoutError(pid)
        time.sleep(0.01)


def alternate(cases: list[Case], repetitions: int, timeout: float = 1800) -> None:
    """Run every case ``repetitions`` times, in turn, each in its own temporary directory."""
    with tempfile.TemporaryDirectory(prefix="raydt-bench-") as tmp:
        for rep in range(repetitions):
            for case in cases:
                row = run_once(case, Path(tmp) / f"{case.name}-{rep}", timeout)
                case.runs.append(row)
                print(f"  {case.name} #{rep + 1}: {row['wallS']:.2f} s (exit {row['exit']})", file=sys.stderr)


def median(case: Case, key: str = "wallS") -> float | None:
    values = [r[key] for r in case.runs if r.get("exit") in (0, 3) and isinstance(r.get(key), int | float)]
    return round(statistics.median(values), 3) if values else None


def machine() -> str:
    cpus = os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {cpus} CPU, {mem:.0f} GiB, Python {platform.python_version()}"


def save(name: str, title: str, rows: list[dict[str, Any]], cases: list[Case], notes: str = "") -> Path:
    """Write ``results/<name>.json``: the table rows plus every raw run."""
    RESULTS.mkdir(exist_ok=True)
    import ray

    doc = {
        "benchmark": name,
        "title": title,
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "rayVersion": ray.__version__,
        "rows": rows,
        "notes": notes,
        "raw": {c.name: c.runs for c in cases},
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps({"benchmark": name, "rows": rows}, indent=2))
    return path


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, rounded; None when either is missing."""
    return round(a / b, 3) if a and b else None


def raydt_json(stdout: str) -> dict[str, Any]:
    """The fields of raydt's JSON result that the tables use."""
    out = json.loads(stdout)
    res = out.get("results", {})
    return {
        "status": out.get("status"),
        "trainingTimeS": out.get("trainingTime"),
        "numTrials": res.get("numTrials"),
        "bestMetric": res.get("bestMetric"),
    }


def last_json_line(stdout: str) -> dict[str, Any]:
    """Comparison scripts print one JSON object on their last stdout line."""
    data: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return data


def spec_file(spec: dict[str, Any], name: str) -> str:
    """Write ``spec`` to benchmarks/specs/<name>.json (kept in the repo, so a reader can rerun it with
    ``raydt run``); relative paths in it resolve against the spec's folder and the working directory."""
    path = HERE / "specs" / f"{name}.json"
    path.write_text(json.dumps(spec, indent=2) + "\n")
    return str(path)


def tune_spec(trainer: str, num_samples: int) -> dict[str, Any]:
    """A 1-CPU-per-trial search over x in [0, 1] with raydt's default searcher and scheduler."""
    return {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}, "rayInit": {"num_cpus": 2}},
        "trainConfig": {"trainerPath": trainer},
        "tuneConfig": {
            "searchSpace": {"x": {"type": "uniform", "min": 0.0, "max": 1.0}},
            "numSamples": num_samples,
            "metric": "score",
            "mode": "min",
        },
        "runConfig": {"storagePath": "./raydt_results"},
    }
