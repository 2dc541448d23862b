"""What a run left in its experiment directory, read back for a report. Ray-free and plotting-free.

A Tune experiment holds one folder per trial (``params.json``, ``result.json`` with one line per report,
``error.txt`` when it failed) and raydt's ledger (``raydt_trials.jsonl``: how each trial ended); a train run
holds Ray Train's ``checkpoint_manager_snapshot.json`` (the kept checkpoints and their metrics) and raydt's
``raydt_train.jsonl`` (every report, worker failure and start, with times). Both hold ``raydt_spec.json``.
When the run itself writes the report, its result document is passed in and wins over what the directory
can tell (statuses, early stops, error codes, the cluster).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raydt.errors import SpecFileError, UsageError, failure_code
from raydt.experiment import SPEC_FILE
from raydt.experiment.ledger import LEDGER_FILE, TRAIN_LEDGER, TUNE_AUTO_KEYS, read_ledger
from raydt.experiment.ledger import json_lines as _lines

SNAPSHOT = "checkpoint_manager_snapshot.json"
#: Tune's trial folder: trial_<id>_<number>_<params>_<date>; an id is 8 hex digits, or <hex>_<5 digits> (grid/random)
_TRIAL_DIR = re.compile(r"^trial_([0-9a-f]+(?:_\d{5})?)_(\d+)_")


@dataclass
class Trial:
    """One trial: its config (flattened with dots), every report, and how it ended."""

    trial_id: str
    number: int
    config: dict[str, Any]
    reports: list[dict[str, Any]]  # the user's metrics plus "iteration" and "t" (seconds since the search began)
    status: str = "TERMINATED"  # TERMINATED | ERROR | INTERRUPTED
    stopped_early: bool = False
    error_code: str | None = None
    error: str | None = None
    start: float = 0.0  # epoch seconds

    def values(self, metric: str) -> list[float]:
        return [r[metric] for r in self.reports if finite(r.get(metric))]


@dataclass
class TrainEvent:
    """A train run's start (or resume), report, worker failure or restart after a preemption, ``t`` seconds after
    the first start."""

    kind: str  # start | report | worker_error | preempted
    t: float
    metrics: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None
    error: str | None = None


@dataclass
class Experiment:
    """An experiment directory, read."""

    path: Path
    mode: str  # tune | train
    spec: dict[str, Any]
    metric: str
    metric_mode: str  # min | max
    result: dict[str, Any] | None = None
    trials: list[Trial] = field(default_factory=list)
    events: list[TrainEvent] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)  # kept: {name, metrics}
    began: float | None = None  # epoch seconds of the first report's start
    hosts: list[str] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)  # a search's resolved settings, as its ledger recorded them

    @property
    def name(self) -> str:
        return self.path.name

    def better(self, a: float, b: float) -> bool:
        return a < b if self.metric_mode == "min" else a > b


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def flat(config: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as {"a.b": value} (searched groups are nested objects)."""
    if not isinstance(config, dict):
        return {prefix: config}
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        out.update(flat(value, name) if isinstance(value, dict) else {name: value})
    return out


def read(path: str | Path, result: dict[str, Any] | None = None) -> Experiment:
    """Read ``path`` (an experimentPath); raises ``UsageError`` when there is no such directory and
    ``SpecFileError`` when its stored spec cannot be read (not a raydt experiment)."""
    exp_dir = Path(path).expanduser().resolve()
    if not exp_dir.is_dir():  # the command line names no experiment: not a spec file's problem
        what = "is a file, not an experiment directory" if exp_dir.exists() else "does not exist"
        raise UsageError(f"raydt report: {exp_dir} {what}", hint="Pass the experimentPath printed in a raydt result.")
    try:
        spec = json.loads((exp_dir / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        spec = None
    if not isinstance(spec, dict):
        raise SpecFileError(
            f"{exp_dir} holds no readable {SPEC_FILE}: it was not started by raydt",
            hint="Pass the experimentPath printed in a raydt result.",
        )
    mode = "tune" if spec.get("mode") == "tune" or (exp_dir / LEDGER_FILE).exists() else "train"
    metric, metric_mode = _metric(spec, mode, result)
    exp = Experiment(exp_dir, mode, spec, metric, metric_mode, result=result)
    if mode == "tune":
        _read_trials(exp)
    else:
        _read_train(exp)
    return exp


def _metric(spec: dict[str, Any], mode: str, result: dict[str, Any] | None) -> tuple[str, str]:
    given = (result or {}).get("results", {})
    if given.get("metric"):
        return str(given["metric"]), str(given.get("metricMode") or "min")
    if mode == "tune":
        tc = spec.get("tuneConfig") or {}
        if tc.get("metric"):  # several objectives (lists): the first, as the search's result names it
            return str(_first(tc["metric"])), str(_first(tc.get("mode")) or "min")
    tc = spec.get("trainConfig") or {}
    if tc.get("metric"):
        return str(tc["metric"]), str(tc.get("metricMode") or "min")
    from raydt.registry import FRAMEWORKS  # plain data: imports no framework

    info = FRAMEWORKS.get(str(tc.get("framework") or "pytorch"))
    return (info.default_metric, info.default_mode) if info else ("loss", "min")


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _read_trials(exp: Experiment) -> None:
    ledger = read_ledger(str(exp.path))
    exp.plan = dict((ledger or {}).get("plan") or {})
    rows_by_id = {r["trialId"]: r for r in (exp.result or {}).get("trials") or []}
    hosts: set[str] = set()
    for folder in sorted(exp.path.iterdir()):
        match = _TRIAL_DIR.match(folder.name)
        if not folder.is_dir() or not match:
            continue
        raw = _lines(folder / "result.json")
        try:
            params = json.loads((folder / "params.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            params = raw[-1].get("config", {}) if raw else {}
        trial_id = str(raw[0].get("trial_id") or match.group(1)) if raw else match.group(1)
        trial = Trial(trial_id, int(match.group(2)), flat(params), [])
        for row in raw:
            hosts.add(str(row.get("hostname") or row.get("node_ip") or ""))
        _reports(trial, raw)
        _ending(trial, folder, ledger, rows_by_id.get(trial.trial_id))
        exp.trials.append(trial)
    exp.hosts = sorted(h for h in hosts if h)
    exp.trials.sort(key=lambda t: t.number)
    if exp.trials:
        exp.began = min(t.start for t in exp.trials)
        for trial in exp.trials:
            for report in trial.reports:
                report["t"] += trial.start - exp.began
    if not rows_by_id:
        _early_stops(exp)


def _reports(trial: Trial, raw: list[dict[str, Any]]) -> None:
    """Keep the user's metrics of each report, with when it came (Tune's timestamps are whole seconds; the
    trial's start is the latest lower bound its reports give, and each report is that plus time_total_s)."""
    starts = [r["timestamp"] - r.get("time_total_s", 0.0) for r in raw if finite(r.get("timestamp"))]
    trial.start = max(starts) if starts else 0.0
    for n, row in enumerate(raw, start=1):
        metrics = {k: v for k, v in row.items() if k not in TUNE_AUTO_KEYS and (finite(v) or isinstance(v, str))}
        metrics["iteration"] = int(row.get("training_iteration") or n)
        metrics["t"] = float(row.get("time_total_s") or 0.0)
        trial.reports.append(metrics)


def _ending(trial: Trial, folder: Path, ledger: dict[str, Any] | None, row: dict[str, Any] | None) -> None:
    error_file = folder / "error.txt"
    if row is not None:  # the run's own result: exact
        trial.status = row["status"]
        trial.stopped_early = bool(row.get("stoppedEarly"))
        if row.get("error"):
            trial.error_code, trial.error = row["error"]["code"], f"{row['error']['class']}: {row['error']['message']}"
        return
    ended = (ledger or {}).get("ended", {}).get(trial.trial_id)
    if ended == "error" or (ended is None and error_file.exists()):
        trial.status = "ERROR"
        text = error_file.read_text(encoding="utf-8", errors="replace") if error_file.exists() else ""
        lines = [ln for ln in text.splitlines() if ln.strip()]
        trial.error = lines[-1][:300] if lines else "failed"
        trial.error_code = failure_code(RuntimeError(text))
    elif ended is None and ledger is not None:
        trial.status = "INTERRUPTED"


def _early_stops(exp: Experiment) -> None:
    """Without the run's result: a finished trial with fewer reports than the longest one was stopped early."""
    longest = max((len(t.reports) for t in exp.trials), default=0)
    for trial in exp.trials:
        trial.stopped_early = trial.status == "TERMINATED" and len(trial.reports) < longest


def _read_train(exp: Experiment) -> None:
    raw = _lines(exp.path / TRAIN_LEDGER)
    times = [float(r["time"]) for r in raw if finite(r.get("time"))]
    exp.began = min(times) if times else None
    for row in raw:
        t = float(row.get("time", 0.0)) - (exp.began or 0.0)
        if row.get("event") == "report":
            metrics = {k: v for k, v in (row.get("metrics") or {}).items() if finite(v)}
            exp.events.append(TrainEvent("report", t, metrics, checkpoint=row.get("checkpoint")))
        elif row.get("event") == "preempted":  # a restart after a node drained for preemption (maxPreemptions)
            exp.events.append(TrainEvent("preempted", t, error=f"NODE_PREEMPTED: {row.get('error', '')}"[:500]))
        elif row.get("event") == "worker_error" and not row.get("preempted"):  # preempted: the restart's row says it
            errors = row.get("errors") or {}
            text = "; ".join(f"rank {k}: {v}" for k, v in sorted(errors.items()))
            exp.events.append(TrainEvent("worker_error", t, error=text[:500]))
        elif row.get("event") == "start":
            exp.events.append(TrainEvent("start", t))
    try:
        snapshot = json.loads((exp.path / SNAPSHOT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        snapshot = {}
    for item in snapshot.get("checkpoint_results") or []:
        name = str(item.get("checkpoint_dir_name") or "")
        if name and (exp.path / name).is_dir():
            exp.checkpoints.append({"name": name, "path": str(exp.path / name), "metrics": item.get("metrics") or {}})
    if not any(e.kind == "report" for e in exp.events):  # no ledger (an older run): the kept checkpoints' reports
        exp.events += [TrainEvent("report", 0.0, dict(c["metrics"]), c["path"]) for c in exp.checkpoints]


def size_of(path: Path) -> int:
    """Bytes under ``path`` (a checkpoint folder)."""
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total
