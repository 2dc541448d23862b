"""Never lose work: a killed worker resumes from its checkpoint, Ctrl-C leaves a resumable partial result.

These tests kill processes, so each runs the CLI as its own process (on the session cluster, or on an embedded Ray
of its own where the driver itself is killed), in its own process group, and cleans that group up by pid.
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


def test_a_killed_worker_resumes_then_ctrl_c_then_resume_train_each_epoch_once(
    tmp_path: Path, runs: list[Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One tracked train run on the session cluster that loses its rank-0 worker (SIGKILL, mid-epoch), is stopped
    with Ctrl-C and resumed with `raydt resume`: the worker group restarts from the latest checkpoint, the
    interrupted run is a resumable partial result, no checkpointed epoch is trained twice, and it is one MLflow
    run with each epoch logged once, in raydt's default local store (sqlite in the experiment folder)."""
    pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    log = tmp_path / "epochs.log"
    run = Run(tmp_path, train_spec(tmp_path, log, tracking={"mlflow": {}}))
    runs.append(run)
    wait_for(lambda: run.saw("epoch 2", "[ckpt]"))  # epoch 2's checkpoint is registered with Ray Train
    killed = int([ln for ln in lines(log) if ln.startswith("start")][-1].split()[2])
    os.kill(killed, signal.SIGKILL)  # the rank-0 training worker, mid-epoch: the worker group restarts
    wait_for(lambda: run.saw("epoch 4", "[ckpt]"))
    run.proc.send_signal(signal.SIGINT)
    code, out, _ = run.finish(timeout=120)
    before_resume = len([ln for ln in lines(log) if ln.startswith("start")])
    assert code == 3 and out["status"] == "partial" and out["restarts"] >= 1, out
    # the result says what was retried and why: a dead worker, which a retry can fix
    assert out["results"]["retries"] and out["results"]["retries"][0]["code"] == "WORKER_DIED", out["results"]
    assert out["interrupted"] is True and "raydt resume" in out["warnings"][0]
    assert Path(out["checkpointPath"]).is_dir()
    done = out["results"]["iterations"]  # reports (with checkpoints) registered before the interrupt
    assert 4 <= done < 6
    pids = {int(ln.split()[2]) for ln in lines(log) if ln.startswith("start")}
    assert killed in pids and len(pids) >= 2  # a new worker process took over
    info = out["tracking"]["mlflow"]
    assert info["localStore"] == str(tmp_path / "results" / "ft" / "mlflow.db")
    assert info["trackingUri"] == f"sqlite:///{info['localStore']}"

    from mlflow import MlflowClient

    client = MlflowClient(info["trackingUri"])
    assert client.get_run(info["runId"]).info.status == "KILLED"

    res = run_cli("resume", out["experimentPath"])
    assert res.code == 0 and res.out["status"] == "success", res.out
    assert res.out["results"]["finalMetrics"]["epoch"] == 6
    starts = [int(ln.split()[1]) for ln in lines(log) if ln.startswith("start")]
    assert starts.count(1) == starts.count(2) == 1, starts  # checkpointed before the kill: never trained again
    assert min(starts[before_resume:]) == done + 1, starts  # resume went on after the last registered checkpoint
    assert set(starts) == set(range(1, 7))
    assert res.out["tracking"]["mlflow"]["runId"] == info["runId"]  # the same MLflow run, reopened
    assert client.get_run(info["runId"]).info.status == "FINISHED"
    history = [(m.step, m.value) for m in client.get_metric_history(info["runId"], "loss")]
    assert history == [(e, pytest.approx(1.0 / e)) for e in range(1, 7)], history
    assert len(client.search_runs([info["experimentId"]])) == 1


def test_sigkilled_worker_with_no_retries_left_is_worker_died_and_explained(tmp_path: Path, runs: list[Run]) -> None:
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
    # raydt explain on the experiment folder (its log file is found beside it)
    experiment = tmp_path / "results" / "ft"
    assert (experiment / "raydt_spec.json").is_file()
    explained = run_cli("explain", str(experiment))
    causes = explained.out["causes"]
    assert explained.code == 0 and causes[0]["code"] == "WORKER_DIED", causes
    assert causes[0]["summary"].startswith("the run lost a worker"), causes
    assert any(ev["file"].endswith(".log") for ev in causes[0]["evidence"])
    # the driver kept a post-mortem: the error, the node's state, the tails of Ray Train's logs of this run
    postmortem = experiment / "raydt_postmortem" / "train-1"
    index = json.loads((postmortem / "postmortem.json").read_text())
    assert (postmortem / "error.txt").read_text() and (postmortem / "node.json").is_file(), index
    assert any(c["file"].startswith("ray-train-app-worker-") for c in index["copied"]), index
    # bundled, the experiment moved away: explain in a fresh folder (no Ray session read) names the same cause
    bundle = tmp_path / "ship" / "run.tar.gz"
    packed = run_cli("bundle", str(experiment), "-o", str(bundle))
    assert packed.code == 0 and not any("checkpoint_" in m for m in packed.out["bundle"]["redactedFiles"]), packed.out
    (tmp_path / "results").rename(tmp_path / "moved-away")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    again = run_cli("explain", str(bundle), cwd=fresh)
    assert again.code == 0 and again.out["fromBundle"] == str(bundle), again.out
    assert again.out["causes"][0]["code"] == "WORKER_DIED", again.out["causes"]
    assert f"{bundle}:ft/raydt_postmortem/train-1/node.json" in again.out["sources"]


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


def test_sigkilled_driver_mid_search_resumes(tmp_path: Path, runs: list[Run], no_session_cluster: Path) -> None:
    """The driver and its embedded Ray: SIGKILLed, no cleanup, no final snapshot; `raydt resume` finishes it."""
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


def test_out_of_memory_trial_is_classified_the_search_is_partial_and_explained(tmp_path: Path) -> None:
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
            # two trials run at once: with ASHA, lr 0.9's first report could come first and stop lr 0.5 before
            # it runs out of memory
            "scheduler": "fifo",
        },
        "runConfig": {"storagePath": str(tmp_path)},
    }
    (tmp_path / "oom.json").write_text(json.dumps(spec))
    res = run_cli("run", str(tmp_path / "oom.json"))
    out = res.out
    assert res.code == 3 and out["status"] == "partial", out
    assert out["clusterStatus"]["source"] == "raydt cluster up"  # the session cluster, found as a user's run finds it
    rows = {t["config"]["lr"]: t for t in out["trials"]}
    assert rows[0.5]["status"] == "ERROR" and rows[0.5]["error"]["code"] == "OUT_OF_MEMORY"
    assert rows[0.5]["error"]["class"] == "MemoryError"
    assert rows[0.1]["status"] == rows[0.9]["status"] == "TERMINATED"
    assert out["results"]["bestConfig"]["lr"] == 0.9
    # raydt explain on the experiment folder counts the trial among the trials
    explained = run_cli("explain", out["experimentPath"])
    first = explained.out["causes"][0]
    assert explained.code == 0 and first["code"] == "OUT_OF_MEMORY", explained.out
    assert (first["trials"], first["totalTrials"]) == (1, 3), first
    assert first["summary"].startswith("1 of 3 trial(s) ran out of memory")
    ev = first["evidence"][0]
    assert ev["file"].endswith("error.txt") and ev["text"] == "MemoryError"
    assert Path(ev["file"]).read_text().splitlines()[ev["line"] - 1].strip() == "MemoryError"
