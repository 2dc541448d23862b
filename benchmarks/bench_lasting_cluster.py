"""Benchmark 9 (issue 15): a running lasting cluster (`raydt cluster up`) against raydt's embedded Ray.

Side by side in one invocation, alternating: time to the first reported metric of a 1-worker train run
(the loop stamps its first report, as in bench_first_result) and the whole time of the 200-trivial-trial
search (as in bench_small_trials), once on a running `raydt cluster up --cpus 2` (no address in the spec:
raydt finds the cluster) and once with `config.address: local` (a fresh embedded Ray on 2 CPUs, started and
stopped by every run) in a process of its own, as on a machine without a lasting cluster (`RAYDT_WARM=0`: with
the cluster up, the warm runner would fork even an embedded run; that is timed too, for reference, as
`trials-forked`). `raydt cluster status` on both shows the fixed per-run cost of connecting.
The cluster lives in a throwaway RAYDT_STATE_DIR (never ~/.raydt) and is always stopped (try/finally).
Targets: both on the running cluster <= 0.5x the embedded figure. `cluster up` itself is timed once and
is not in the figures: the cluster is meant to be started once and used by many runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ENV, HERE, PY, RAYDT, Case, median, ratio, reps, run_once, save, spec_file, tune_spec

from raydt.clusters import procs

ENV.pop("RAY_ADDRESS", None)  # an address in the environment would win over the lasting cluster
LOCAL = {"address": "local", "rayInit": {"num_cpus": 2}}  # what the embedded runs add to the spec's config
TRAIN = {
    "mode": "train",
    "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
    "trainConfig": {"trainerPath": "../loops.py:stamped", "epochs": 2, "metric": "loss"},
    "runConfig": {"storagePath": "./raydt_results"},
}
N = int(os.environ.get("BENCH_TRIALS", 200))
TUNE = tune_spec("../objectives.py:trivial", N)
del TUNE["config"]["rayInit"]  # a running cluster has its CPUs; ray.init refuses num_cpus for an existing one
SOURCES = {"embedded": "embedded", "cluster": "raydt cluster up", "forked": "embedded"}
#: the embedded runs: a `raydt` of their own, never handed to the cluster's warm runner
COLD = ("env", "RAYDT_WARM=0")
LIVE = {"connectedS": r"\] ray: \d+ node", "firstEpochS": r"\] epoch 1 ", "doneS": r"\] done: "}
#: Where the time of a train run goes, step by step, with raydt's own connection (token, node address):
#: connect, the driver's `import ray.train.torch`, a new actor's process (every job gets new worker processes),
#: that actor's `import ray.train.torch` (what Ray Train's controller and workers import), disconnect.
PROBE = """
import json, sys, time
t = {"start": time.time()}
import ray
from raydt import ray_session
from raydt.clusters import detect
t["imports"] = time.time()
address = "local" if sys.argv[1] == "embedded" else detect.running_address()
with ray_session.connect(address, {"num_cpus": 2} if address == "local" else {}):
    t["connect"] = time.time()
    import ray.train.torch
    t["driverImport"] = time.time()

    @ray.remote(num_cpus=0)
    class Probe:
        def ping(self):
            return 1

        def load(self):
            import ray.train.torch
            return 1

    actor = Probe.remote()
    ray.get(actor.ping.remote())
    t["actorStart"] = time.time()
    ray.get(actor.load.remote())
    t["actorImport"] = time.time()
t["disconnect"] = time.time()
json.dump(t, open("probe.json", "w"))
source = "raydt cluster up" if detect.owner(address) else "embedded"
print(json.dumps({"status": "success", "clusterStatus": {"source": source}}))
"""


def with_mode(spec: dict[str, Any], mode: str, work: Path | None = None) -> dict[str, Any]:
    """``spec`` for ``mode``; with ``work``, a copy to run in ``work``: the trainer's path made absolute
    and the stamp's folder passed to the workers (a lasting cluster's workers do not inherit the
    driver's environment)."""
    config = dict(spec["config"], **(LOCAL if mode != "cluster" else {}))
    if work is None:
        return {**spec, "config": config}
    config["rayInit"] = {**config.get("rayInit", {}), "runtime_env": {"env_vars": {"BENCH_WORKDIR": str(work)}}}
    train = dict(spec["trainConfig"], trainerPath=str(HERE / "specs" / spec["trainConfig"]["trainerPath"]))
    return {**spec, "config": config, "trainConfig": train}


def parse(stdout: str) -> dict[str, Any]:
    out = json.loads(stdout)
    res = out.get("results", {})
    return {"status": out.get("status"), "source": (out.get("clusterStatus") or {}).get("source"),
            "numTrials": res.get("numTrials"), "trainingTimeS": out.get("trainingTime")}  # fmt: skip


def after(work: Path, started: float) -> dict[str, Any]:
    """The first report's time (from the loop's stamp, when there is one) and the live view's phases."""
    row: dict[str, Any] = {}
    probe = work / "probe.json"
    if probe.exists():
        t = json.loads(probe.read_text())
        row["pythonStartS"] = round(t["start"] - started, 3)
        steps = list(t.items())
        row.update({f"{k}S": round(v - steps[i][1], 3) for i, (k, v) in enumerate(steps[1:])})
    stamp = work / "first_report.txt"
    if stamp.exists():
        row["firstResultS"] = round(float(stamp.read_text().split()[0]) - started, 3)
    err = (work / "stderr.txt").read_text()
    row["forked"] = "[raydt warm] forked" in err
    for key, pattern in LIVE.items():
        line = next((ln for ln in err.splitlines() if re.search(pattern, ln)), None)
        if line is not None:
            row[key] = float(line.split("]")[0].split()[-1].rstrip("s"))
    return row


def cases() -> list[tuple[Case, dict[str, Any] | None, str]]:
    """(case, spec or None for `cluster status`, mode), in the order each repetition runs them."""
    out: list[tuple[Case, dict[str, Any] | None, str]] = []
    for kind, spec in (("first", TRAIN), ("trials", TUNE), ("status", None), ("probe", None)):
        for mode in ("embedded", "cluster", "forked") if kind == "trials" else ("embedded", "cluster"):
            cold = COLD if mode == "embedded" else ()
            if kind == "probe":
                argv = [PY, "-c", PROBE, mode]
            elif spec is None:
                argv = [*cold, *RAYDT, "cluster", "status", *(["--address", "local"] if mode == "embedded" else [])]
            else:
                if mode != "forked":
                    spec_file(with_mode(spec, mode), f"lasting_{kind}_{mode}")  # for readers: runnable as it is
                argv = [*cold, *RAYDT, "run", "{work}/spec.json"]
            name = "trials-embedded-forked" if mode == "forked" else f"{kind}-{mode}"
            out.append((Case(name, argv, parse, after), spec, mode))
    return out


def cluster(action: str, *flags: str) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    proc = subprocess.run([*RAYDT, "cluster", action, "--quiet", *flags], env=ENV, capture_output=True, text=True)
    wall = round(time.perf_counter() - start, 3)
    if proc.returncode != 0:
        raise RuntimeError(f"raydt cluster {action} failed ({proc.returncode}): {proc.stdout} {proc.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(proc.stdout)["lastingCluster"]
    return out, wall


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of ``pids`` (those still alive), from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def idle_load(cluster_id: str, seconds: float = 10.0) -> float:
    """CPU cores the idle cluster's processes (all that carry its tag) use: CPU time over ``seconds``."""
    pids = procs.tagged(cluster_id)
    before = cpu_seconds(pids)
    time.sleep(seconds)
    return round((cpu_seconds(pids) - before) / seconds, 3)


def alternate(table: list[tuple[Case, dict[str, Any] | None, str]], repetitions: int, tmp: Path) -> None:
    for rep in range(repetitions):
        for case, spec, mode in table:
            work = tmp / f"{case.name}-{rep}"
            work.mkdir()
            if spec is not None:
                (work / "spec.json").write_text(json.dumps(with_mode(spec, mode, work)))
            row = run_once(case, work, timeout=600)
            expected = ("success", SOURCES[mode], mode != "embedded" and "run" in case.argv)  # runs are forked
            if (row.get("status"), row.get("source"), row.get("forked")) != expected:  # out of the medians
                row["exit"] = (f"{row['exit']}: status {row.get('status')!r}, source {row.get('source')!r}, "
                               f"forked {row.get('forked')!r}")  # fmt: skip
            case.runs.append(row)
            print(f"  {case.name} #{rep + 1}: {row['wallS']:.2f} s (exit {row['exit']})", file=sys.stderr)


def measure(repetitions: int) -> dict[str, Any]:
    """Start the cluster, run the cases, stop the cluster whatever happens; what to save."""
    state = Path(tempfile.mkdtemp(prefix="raydt-bench-state-"))
    tmp = Path(tempfile.mkdtemp(prefix="raydt-bench-"))
    ENV["RAYDT_STATE_DIR"] = str(state)
    table = cases()
    info: dict[str, Any] = {"cases": [c for c, _, _ in table]}
    try:
        up, info["upS"] = cluster("up", "--cpus", "2")
        alternate(table, repetitions, tmp)
        info["idleCores"] = idle_load(up["id"])
    finally:
        try:  # always, even when a run failed; a failed `up` has stopped what it started and left no record
            down, info["downS"] = cluster("down")
            info["leftPids"] = [p for p in down["stoppedPids"] if procs.belongs(p, down["id"])]
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return info


def main() -> None:
    info = measure(reps(5))
    by = {c.name: c for c in info["cases"]}
    keys = {name: sorted({k for r in c.runs for k in r if k.endswith("S")}) for name, c in by.items()}
    m = {name: {k: median(c, k) for k in keys[name]} for name, c in by.items()}
    fe, fc = m["first-embedded"]["firstResultS"], m["first-cluster"]["firstResultS"]
    te, tc = m["trials-embedded"]["wallS"], m["trials-cluster"]["wallS"]
    se, sc = m["status-embedded"]["wallS"], m["status-cluster"]["wallS"]
    tf = m["trials-embedded-forked"]["wallS"]
    rows = [
        {"what": "time to first result, 1-worker train: running `raydt cluster up` vs embedded Ray", "raydt": fc,
         "comparison": fe, "ratio": ratio(fc, fe), "target": "ratio <= 0.5"},
        {"what": f"{N} trivial trials, whole process: running `raydt cluster up` vs embedded Ray", "raydt": tc,
         "comparison": te, "ratio": ratio(tc, te), "target": "ratio <= 0.5"},
        {"what": f"{N} trivial trials: running cluster vs an embedded run forked by the cluster's warm runner",
         "raydt": tc, "comparison": tf, "ratio": ratio(tc, tf), "target": "(reference)"},
        {"what": "raydt cluster status, whole process (connect, describe, disconnect): cluster vs embedded",
         "raydt": sc, "comparison": se, "ratio": ratio(sc, se), "target": "(reference)"},
    ]  # fmt: skip
    notes = (
        f"cluster: `raydt cluster up --cpus 2` (head only) took {info['upS']} s once, `down` {info['downS']} s "
        f"(pids left after down: {info['leftPids']}); the idle cluster used {info['idleCores']} cores "
        f"(its processes' CPU time over 10 s). Medians (s; the live view's phases on raydt's clock, the probe's "
        f"steps): {m}"
    )
    save("lasting_cluster", "running `raydt cluster up` vs embedded Ray (s from process start)", rows,
         info["cases"], notes=notes)  # fmt: skip


if __name__ == "__main__":
    main()
