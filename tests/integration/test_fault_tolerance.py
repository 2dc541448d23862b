"""Never lose work: a killed worker resumes from its checkpoint, Ctrl-C leaves a resumable partial result.

These tests kill processes, so each runs the CLI as its own process with its own embedded Ray, in its own
process group, and cleans that group up by pid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import raydt
from tests.conftest import FIXTURES, ROOT, assert_seed_output, run_cli

pytestmark = pytest.mark.slow


class Run:
    """``raydt run SPEC`` as a background process."""

    def __init__(self, tmp_path: Path, spec: dict[str, Any], command: str = "run") -> None:
        path = tmp_path / f"spec-{time.monotonic_ns()}.json"
        path.write_text(json.dumps(spec))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "raydt", command, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            start_new_session=True,
        )
        self.stderr: list[str] = []  # the live view, line by line, as it comes
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def saw(self, *needles: str) -> bool:
        return any(all(n in line for n in needles) for line in list(self.stderr))

    def finish(self, timeout: float = 300) -> tuple[int, dict[str, Any], str]:
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        assert self.proc.stdout is not None
        out, err = self.proc.stdout.read(), "".join(self.stderr)
        doc = json.loads(out)
        assert "Traceback (most recent call last)" not in err, err
        assert_seed_output(doc)
        return self.proc.returncode, doc, err

    def kill_group(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=30)


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.kill_group()


def wait_for(predicate: Any, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def train_spec(tmp_path: Path, log: Path, epochs: int = 6, **run: Any) -> dict[str, Any]:
    return {
        "mode": "train",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 0.5}},
        "trainConfig": {
            "trainerPath": f"{FIXTURES}/trainers.py:killable",
            "trainLoopConfig": {"log": str(log), "sleep": 1.5},
            "epochs": epochs,
            "metric": "loss",
        },
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": "ft", **run},
    }


def test_sigkilled_worker_is_replaced_and_resumes_from_its_checkpoint(tmp_path: Path, runs: list[Run]) -> None:
    log = tmp_path / "epochs.log"
    run = Run(tmp_path, train_spec(tmp_path, log))
    runs.append(run)
    wait_for(lambda: run.saw("epoch 2", "[ckpt]"))  # epoch 2's checkpoint is registered with Ray Train
    done_before = 2
    pid = int([ln for ln in lines(log) if ln.startswith("start")][-1].split()[2])
    os.kill(pid, signal.SIGKILL)  # the rank-0 training worker, mid-epoch
    code, out, _ = run.finish()
    assert code == 0 and out["status"] == "success", out
    assert out["restarts"] >= 1
    # the result says what was retried and why: a dead worker, which a retry can fix
    assert out["results"]["retries"] and out["results"]["retries"][0]["code"] == "WORKER_DIED", out["results"]
    assert out["results"]["finalMetrics"]["epoch"] == 6
    starts = [int(ln.split()[1]) for ln in lines(log) if ln.startswith("start")]
    for epoch in range(1, done_before + 1):
        assert starts.count(epoch) == 1, f"checkpointed epoch {epoch} trained again: {starts}"
    assert set(starts) == set(range(1, 7))
    pids = {int(ln.split()[2]) for ln in lines(log) if ln.startswith("start")}
    assert len(pids) >= 2  # a new worker process took over


def test_sigkilled_worker_with_no_retries_left_is_worker_died(tmp_path: Path, runs: list[Run]) -> None:
    log = tmp_path / "epochs.log"
    run = Run(tmp_path, train_spec(tmp_path, log, maxFailures=0))
    runs.append(run)
    wait_for(lambda: run.saw("epoch 1", "[ckpt]"))
    pid = int([ln for ln in lines(log) if ln.startswith("start")][-1].split()[2])
    os.kill(pid, signal.SIGKILL)
    code, out, _ = run.finish()
    assert code == 1 and out["status"] == "error", out
    assert out["error"]["code"] == "WORKER_DIED", out["error"]
    assert "maxFailures" in out["error"]["hint"]
    assert Path(out["error"]["details"]["lastCheckpointPath"]).is_dir()  # what was saved stays


def test_ctrl_c_gives_a_resumable_partial_train_result(tmp_path: Path, runs: list[Run]) -> None:
    log = tmp_path / "epochs.log"
    run = Run(tmp_path, train_spec(tmp_path, log, epochs=8))
    runs.append(run)
    wait_for(lambda: run.saw("epoch 2", "[ckpt]"))
    run.proc.send_signal(signal.SIGINT)
    code, out, _ = run.finish(timeout=120)
    assert code == 3 and out["status"] == "partial", out
    assert out["interrupted"] is True and "raydt resume" in out["warnings"][0]
    assert Path(out["checkpointPath"]).is_dir()
    done = out["results"]["iterations"]  # reports (with checkpoints) registered before the interrupt
    assert 2 <= done < 8

    res = run_cli("resume", out["experimentPath"])
    assert res.code == 0 and res.out["status"] == "success", res.out
    assert res.out["results"]["finalMetrics"]["epoch"] == 8
    starts = [int(ln.split()[1]) for ln in lines(log) if ln.startswith("start")]
    for epoch in range(1, done + 1):
        assert starts.count(epoch) == 1, f"checkpointed epoch {epoch} trained again: {starts}"


def slow_search(tmp_path: Path, name: str) -> dict[str, Any]:
    """4 trials of 4 one-second steps, 2 at a time, each step checkpointed."""
    return {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"trainerPath": f"{ROOT}/tests/fixtures/tune_functions.py:slow_steps"},
        "tuneConfig": {
            "searchSpace": {"x": {"type": "uniform", "min": 1, "max": 4}, "steps": 4},
            "numSamples": 4,
            "seed": 0,
            "metric": "score",
            "mode": "min",
            "scheduler": "fifo",
            "maxConcurrentTrials": 2,
        },
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": name},
    }


def test_ctrl_c_mid_search_then_resume_runs_only_what_is_left(tmp_path: Path, runs: list[Run]) -> None:
    spec = slow_search(tmp_path, "search")
    run = Run(tmp_path, spec)
    runs.append(run)
    exp = tmp_path / "results" / "search"
    wait_for(lambda: any(exp.glob("trial_*/checkpoint_000001")))
    run.proc.send_signal(signal.SIGINT)
    code, out, _ = run.finish(timeout=120)
    assert code == 3 and out["status"] == "partial", out
    assert out["interrupted"] is True and out["results"]["completedTrials"] < 4
    r = out["results"]
    assert r["endReason"] == "INTERRUPTED"
    # trials cut off mid-run are INTERRUPTED (not TERMINATED, not completed); finished ones ran all 4 steps
    cut = [t for t in out["trials"] if t["status"] == "INTERRUPTED"]
    assert cut and all(t["iterations"] < 4 for t in cut), out["trials"]
    assert all(t["iterations"] == 4 for t in out["trials"] if t["status"] == "TERMINATED"), out["trials"]
    assert r["interruptedTrials"] == len(cut)
    assert r["completedTrials"] == sum(1 for t in out["trials"] if t["status"] == "TERMINATED")
    best = next(t for t in out["trials"] if t["trialId"] == r["bestTrialId"])
    assert r["bestTrialStatus"] == best["status"]
    assert "Ctrl-C" in out["warnings"][0]

    done_first = {t["trialId"] for t in out["trials"] if t["status"] == "TERMINATED"}
    res = run_cli("resume", str(exp))
    assert res.code == 0 and res.out["status"] == "success", res.out
    assert res.out["results"]["numTrials"] == 4 and res.out["results"]["completedTrials"] == 4
    assert res.out["results"]["interruptedTrials"] == 0 and res.out["results"]["endReason"] == "ALL_TRIALS_DONE"
    assert res.out["results"]["bestTrialStatus"] == "TERMINATED"
    assert all(t["iterations"] == 4 for t in res.out["trials"])
    assert res.out["results"]["bestConfig"]["x"] == min(t["config"]["x"] for t in res.out["trials"])
    assert done_first <= {t["trialId"] for t in res.out["trials"]}


def test_nan_metric_is_classified(shared_ray: None, tmp_path: Path) -> None:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {"trainerPath": f"{FIXTURES}/trainers.py:nan_loss", "metric": "loss"},
        "runConfig": {"storagePath": str(tmp_path)},
    }
    out = raydt.run(spec)
    assert out["status"] == "error" and out["error"]["code"] == "NAN_METRIC", out
    assert "learning rate" in out["error"]["hint"]


def test_resume_never_refuses_an_existing_experiment(shared_ray: None, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    spec = {
        "mode": "train",
        "config": {},
        "runConfig": {"storagePath": str(tmp_path), "name": "taken", "resume": "never"},
    }
    out = raydt.run(spec)
    assert out["error"]["code"] == "SPEC_INVALID" and "already exists" in out["error"]["message"]


def test_workers_pending_past_the_timeout_end_the_run(shared_ray: None, tmp_path: Path) -> None:
    import ray

    @ray.remote(num_cpus=2)
    class Hog:
        def ready(self) -> bool:
            return True

    hog = Hog.remote()  # the cluster is busy: feasible, but nothing is free
    ray.get(hog.ready.remote())
    try:
        spec = {
            "mode": "train",
            "config": {"numWorkers": 1},
            "trainConfig": {"epochs": 1},
            "runConfig": {"storagePath": str(tmp_path), "pendingTimeoutS": 5},
        }
        start = time.monotonic()
        out = raydt.run(spec)
        assert time.monotonic() - start < 90
        assert out["status"] == "error" and out["error"]["code"] == "PENDING_TIMEOUT", out
        assert "pendingTimeoutS" in out["error"]["message"]
        (tmp_path / "result.json").write_text(json.dumps(out))  # raydt explain on what the user got back
        explained = run_cli("explain", str(tmp_path / "result.json"))
        first = explained.out["causes"][0]
        assert explained.code == 0 and first["code"] == "PENDING_TIMEOUT", explained.out
        assert first["evidence"][0]["file"] == str(tmp_path / "result.json") and first["fix"], first
    finally:
        ray.kill(hog)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (to clean up by pid what a killed driver left behind)."""
    table = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout.split()
    children: dict[int, list[int]] = {}
    for child, parent in zip(table[::2], table[1::2], strict=True):
        children.setdefault(int(parent), []).append(int(child))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def test_sigkilled_driver_mid_search_resumes(tmp_path: Path, runs: list[Run]) -> None:
    spec = slow_search(tmp_path, "killed")
    run = Run(tmp_path, spec)
    runs.append(run)
    exp = tmp_path / "results" / "killed"
    wait_for(lambda: any(exp.glob("experiment_state-*.json")) and any(exp.glob("trial_*/checkpoint_000002")))
    time.sleep(1)
    left_behind = descendants(run.proc.pid)
    run.proc.kill()  # SIGKILL the driver: no cleanup, no final snapshot
    run.proc.wait(timeout=30)
    for pid in left_behind:  # its embedded Ray outlives it: clean up by pid
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    res = run_cli("resume", str(exp))
    assert res.code == 0 and res.out["status"] == "success", res.out
    r = res.out["results"]
    assert (r["numTrials"], r["completedTrials"]) == (4, 4)
    assert all(t["iterations"] == 4 for t in res.out["trials"])


def test_trials_pending_past_the_timeout_end_the_search(shared_ray: None, tmp_path: Path) -> None:
    import ray

    @ray.remote(num_cpus=2)
    class Hog:
        def ready(self) -> bool:
            return True

    hog = Hog.remote()
    ray.get(hog.ready.remote())
    try:
        spec = {
            "mode": "tune",
            "config": {"numWorkers": 1},
            "trainConfig": {"trainerPath": f"{ROOT}/tests/fixtures/tune_functions.py:objective"},
            "tuneConfig": {
                "searchSpace": {"lr": {"type": "uniform", "min": 0.001, "max": 0.1}},
                "numSamples": 2,
                "metric": "score",
                "mode": "min",
            },
            "runConfig": {"storagePath": str(tmp_path), "pendingTimeoutS": 5},
        }
        start = time.monotonic()
        out = raydt.run(spec)
        assert time.monotonic() - start < 90
        assert out["status"] == "error" and out["error"]["code"] == "PENDING_TIMEOUT", out
    finally:
        ray.kill(hog)


def test_out_of_memory_in_a_training_worker_is_classified(shared_ray: None, tmp_path: Path) -> None:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {"trainerPath": f"{FIXTURES}/trainers.py:out_of_memory", "metric": "loss"},
        "runConfig": {"storagePath": str(tmp_path), "maxFailures": 0},
    }
    out = raydt.run(spec)
    assert_seed_output(out)
    assert out["status"] == "error" and out["error"]["code"] == "OUT_OF_MEMORY", out
    assert "MemoryError" in out["error"]["message"]
    assert "memoryGb" in out["error"]["hint"]
    assert any("bytearray" in line for line in out["error"]["details"]["traceback"]), out["error"]["details"][
        "traceback"
    ]


def test_out_of_memory_trial_is_classified_and_the_search_is_partial(shared_ray: None, tmp_path: Path) -> None:
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {
            "trainerPath": f"{FIXTURES}/trainers.py:out_of_memory",
            "trainLoopConfig": {"only_lr": 0.5},
        },
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "grid", "values": [0.1, 0.5, 0.9]}},
            "metric": "loss",
            "mode": "min",
            "maxFailuresPerTrial": 0,
        },
        "runConfig": {"storagePath": str(tmp_path)},
    }
    out = raydt.run(spec)
    assert_seed_output(out)
    assert out["status"] == "partial", out
    rows = {t["config"]["lr"]: t for t in out["trials"]}
    assert rows[0.5]["status"] == "ERROR" and rows[0.5]["error"]["code"] == "OUT_OF_MEMORY"
    assert rows[0.5]["error"]["class"] == "MemoryError"
    assert rows[0.1]["status"] == rows[0.9]["status"] == "TERMINATED"
    assert out["results"]["bestConfig"]["lr"] == 0.9
