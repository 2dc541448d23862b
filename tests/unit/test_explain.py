"""raydt explain without Ray: the classifier on real lines (Ray's, PyTorch's, Python's own messages), precedence
of a root cause over its consequences, aggregation across trials, and the three kinds of input (an experiment
folder, a log file, a saved result)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from raydt.diagnose import explain, rules
from tests.conftest import FIXTURES, run_cli

CAPTURED = FIXTURES / "explain"

#: one real line per class: Ray 2.60's messages (ray/exceptions.py, the raylet's memory monitor, Tune's resource
#: warning, Ray Train's worker-group errors, ray/_private/utils.py's version check), PyTorch's, NCCL's, Python's
LINES = [
    (
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.77 GiB total capacity)",
        "CUDA_OOM",
    ),
    ("ray.exceptions.OutOfMemoryError: Task was killed due to the node running low on memory.", "OUT_OF_MEMORY"),
    (
        "Memory on the node (IP: 10.0.0.7, ID: 3b2f) where the task (task ID: 1, name=train, pid=123, memory "
        "used=3.10GB) was running was 7.54GB / 7.68GB (0.981937), which exceeds the memory usage threshold of 0.95.",
        "OUT_OF_MEMORY",
    ),
    ("MemoryError", "OUT_OF_MEMORY"),
    (
        "ray.exceptions.ObjectStoreFullError: Failed to put object 00ffff in object store because it is full.",
        "OBJECT_STORE_FULL",
    ),
    (
        "An unexpected internal error occurred while the IO worker was spilling objects: [Errno 28] No space left "
        "on device",
        "OBJECT_STORE_FULL",
    ),
    ("ray.exceptions.OutOfDiskError: Local disk is full", "OBJECT_STORE_FULL"),
    ("TypeError: cannot pickle '_thread.lock' object", "PICKLING_ERROR"),
    ("_pickle.PicklingError: Could not serialize the put value <generator object f at 0x7f>", "PICKLING_ERROR"),
    ("ModuleNotFoundError: No module named 'raydt_missing_helper'", "MODULE_NOT_FOUND_ON_WORKERS"),
    ("RuntimeError: Version mismatch: The cluster was started with:", "VERSION_MISMATCH"),
    (
        "[Rank 0] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=5, OpType=ALLREDUCE) ran for 600000 "
        "milliseconds before timing out.",
        "COLLECTIVE_TIMEOUT",
    ),
    (
        "RuntimeError: [../third_party/gloo/gloo/transport/tcp/pair.cc:534] Connection closed by peer [10.0.0.2]:1234",
        "COLLECTIVE_TIMEOUT",
    ),
    (
        "Ignore this message if the cluster is autoscaling. No trial is running and no new trial has been started "
        "within the last 60 seconds.",
        "PLACEMENT_GROUP_PENDING",
    ),
    ("Warning: The following resource request cannot be scheduled right now: {'CPU': 4.0}.", "PLACEMENT_GROUP_PENDING"),
    ("ray.exceptions.ActorDiedError: The actor died unexpectedly before finishing this task.", "WORKER_DIED"),
    ("ray.train.WorkerGroupError: Training failed due to worker errors: WorkerHealthCheckFailedError", "WORKER_DIED"),
]

#: lines that look alarming but name no failure
NOISE = [
    "WARNING tune.py:219 -- Stop signal received (e.g. via SIGINT/Ctrl+C), ending Ray Tune run. Press CTRL+C "
    "(or send SIGINT/SIGKILL/SIGTERM) to skip.",
    "INFO worker.py:2003 -- Started a local Ray instance.",
    "Trial status: 2 TERMINATED | 1 RUNNING",
]


@pytest.mark.parametrize(("line", "code"), LINES, ids=[c + "-" + str(i) for i, (_, c) in enumerate(LINES)])
def test_each_class_is_recognised_in_its_own_words(line: str, code: str) -> None:
    rule = rules.classify(line)
    assert rule is not None and rule.code == code


@pytest.mark.parametrize("line", NOISE)
def test_ordinary_lines_are_not_failures(line: str) -> None:
    assert rules.classify(line) is None


def experiment(root: Path, outcomes: list[str | None], name: str = "exp") -> Path:
    """A Tune experiment folder: one trial folder (params.json) per outcome, with that captured error.txt."""
    exp = root / name
    exp.mkdir()
    (exp / "raydt_spec.json").write_text(json.dumps({"mode": "tune", "runConfig": {"name": name}}))
    for i, outcome in enumerate(outcomes):
        trial = exp / f"trial_ab12c_{i:05d}_{i}_lr=0.{i}_2026-12-01_05-12-52"
        trial.mkdir()
        (trial / "params.json").write_text("{}")
        if outcome:
            shutil.copy(CAPTURED / outcome, trial / "error.txt")
    return exp


def causes_of(path: Path) -> list[dict[str, Any]]:
    doc, code = explain(str(path))
    assert code == 0
    return list(doc["causes"])


def test_trials_are_counted_per_cause_with_the_line_that_shows_it(tmp_path: Path) -> None:
    exp = experiment(tmp_path, ["memory_error.txt"] * 3 + ["user_error.txt", None])
    found = causes_of(exp)
    assert [c["code"] for c in found] == ["OUT_OF_MEMORY", "USER_CODE_ERROR"]
    oom, user = found
    assert (oom["trials"], oom["totalTrials"]) == (3, 5) and oom["summary"].startswith("3 of 5 trial(s) ran out of")
    lines = (CAPTURED / "memory_error.txt").read_text().splitlines()
    for ev in oom["evidence"]:
        assert ev["file"].endswith("error.txt") and lines[ev["line"] - 1].strip() == ev["text"] == "MemoryError"
    assert len({ev["file"] for ev in oom["evidence"]}) == 3  # one line from each trial's file
    assert "ValueError: the same bug every time" in user["summary"] and user["trials"] == 1
    assert any('tune_functions.py", line 127' in ev["text"] for ev in user["evidence"])  # the user's own frame


def test_a_root_cause_outranks_its_consequence_in_one_trial(tmp_path: Path) -> None:
    exp = experiment(tmp_path, ["user_error.txt"])
    err = next(exp.glob("trial_*/error.txt"))
    err.write_text(
        "ray.exceptions.ActorDiedError: The actor died unexpectedly before finishing this task.\n"
        "Memory on the node (IP: 10.0.0.7, ID: 3b2f) where the task (actor ID: 1, pid=123, memory used=3.10GB) was "
        "running was 7.54GB / 7.68GB (0.98), which exceeds the memory usage threshold of 0.95.\n"
    )
    first, second = causes_of(exp)
    assert first["code"] == "OUT_OF_MEMORY" and first["trials"] == 1 and second["code"] == "WORKER_DIED"
    assert second["trials"] == 0  # seen, but not what ended the trial
    assert "on node 10.0.0.7" in first["summary"] and "~3.1 GB" in first["summary"]
    assert "memoryGb: 4" in first["fix"]


def test_a_log_file_alone_is_explained(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(
        "2026-12-01 07:01:02 INFO worker.py:2003 -- Started a local Ray instance.\n"
        "Traceback (most recent call last):\n"
        '  File "/work/code/loop.py", line 3, in train\n'
        "ModuleNotFoundError: No module named 'helpers_only_here'\n"
    )
    (cause,) = causes_of(log)
    assert cause["code"] == "MODULE_NOT_FOUND_ON_WORKERS" and cause["summary"].startswith("the run could not import")
    assert "helpers_only_here" in cause["summary"] and "'helpers_only_here'" in cause["fix"]
    assert cause["evidence"] == [{"file": str(log.resolve()), "line": 4, "text": cause["evidence"][0]["text"]}]
    assert "trials" not in cause  # a train run: no trial counts


def test_a_saved_result_keeps_raydts_own_code_and_follows_its_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "r.log"
    log.parent.mkdir()
    log.write_text("(RayTrainWorker pid=1) loss nan at epoch 1\n")
    result = {
        "status": "error",
        "results": {"numTrials": 0, "completedTrials": 0},
        "error": {"code": "NAN_METRIC", "message": "val_loss was never finite", "hint": "lower the learning rate"},
        "logFile": str(log),
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(result, indent=2))
    doc, code = explain(str(path))
    assert code == 0 and doc["logFile"] == str(log) and str(path.resolve()) in doc["sources"]
    (cause,) = doc["causes"]
    assert cause["code"] == "NAN_METRIC" and cause["fix"] == "lower the learning rate"
    assert cause["evidence"][0]["file"] == str(path.resolve()) and "NAN_METRIC" in cause["evidence"][0]["text"]


def test_the_ledger_counts_retried_trials(tmp_path: Path) -> None:
    exp = experiment(tmp_path, [None, None])
    rows = [
        {"event": "retry", "trial": "ab12c_00000", "code": "WORKER_DIED", "error": "ActorDiedError: killed"},
        {"event": "complete", "trial": "ab12c_00000"},
        {"event": "complete", "trial": "ab12c_00001"},
    ]
    (exp / "raydt_trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (cause,) = causes_of(exp)
    assert (
        cause["code"] == "WORKER_DIED"
        and cause["summary"].startswith("1 trial(s) lost a worker")
        and cause["trials"] == 0
    )
    assert cause["evidence"][0]["line"] == 1 and cause["evidence"][0]["file"].endswith("raydt_trials.jsonl")


def test_a_run_without_failure_says_so(tmp_path: Path) -> None:
    doc, code = explain(str(experiment(tmp_path, [None, None])))
    assert code == 0 and doc["causes"] == [] and doc["warnings"]


def test_cli_explain_prints_one_valid_document_and_refuses_a_missing_path(tmp_path: Path) -> None:
    exp = experiment(tmp_path, ["memory_error.txt", None])
    res = run_cli("explain", str(exp))
    assert res.code == 0 and res.out["causes"][0]["code"] == "OUT_OF_MEMORY"
    missing = run_cli("explain", str(tmp_path / "nope"))
    assert (
        missing.code == 2
        and missing.out["error"]["code"] == "USAGE"
        and "does not exist" in missing.out["error"]["message"]
    )


def test_line_numbers_stay_the_files_when_only_its_end_is_read(tmp_path: Path) -> None:
    from raydt.diagnose.sources import tail

    log = tmp_path / "big.log"
    log.write_text("".join(f"filler {i}\n" for i in range(1, 5001)) + "MemoryError\n")
    first, lines = tail(log, 200)
    assert lines[-1] == "MemoryError" and first + len(lines) - 1 == 5001
    assert lines[0] == f"filler {first}"


def test_a_search_that_failed_as_a_whole_is_a_run_level_cause(tmp_path: Path) -> None:
    exp = experiment(tmp_path, [None, None])
    result = {
        "status": "error",
        "results": {"numTrials": 2, "completedTrials": 0},
        "experimentPath": str(exp),
        "error": {"code": "PENDING_TIMEOUT", "message": "no trial ran for 600 s", "hint": "ask for less"},
    }
    saved = tmp_path / "result.json"
    saved.write_text(json.dumps(result, indent=2))
    (cause,) = causes_of(saved)
    assert cause["code"] == "PENDING_TIMEOUT" and cause["summary"] == "the run failed with PENDING_TIMEOUT"
    assert cause["fix"] == "ask for less" and "trials" not in cause


def test_a_saved_search_result_points_at_the_lines_of_its_failed_trials(tmp_path: Path) -> None:
    row = {
        "trialId": "ab12c_00001",
        "config": {"lr": 0.5},
        "status": "ERROR",
        "iterations": 1,
        "lastMetrics": {},
        "bestMetric": None,
        "error": {
            "code": "OUT_OF_MEMORY",
            "class": "MemoryError",
            "message": "",
            "traceback": ['  File "/work/t.py", line 9, in loop', "MemoryError"],
        },
    }
    ok = {
        "trialId": "ab12c_00000",
        "config": {"lr": 0.1},
        "status": "TERMINATED",
        "iterations": 1,
        "lastMetrics": {"loss": 0.9},
        "bestMetric": 0.9,
    }
    result = {"status": "partial", "results": {"numTrials": 2, "completedTrials": 1}, "trials": [ok, row]}
    saved = tmp_path / "result.json"
    saved.write_text(json.dumps(result, indent=2))
    lines = saved.read_text().splitlines()
    (cause,) = causes_of(saved)
    assert cause["code"] == "OUT_OF_MEMORY" and (cause["trials"], cause["totalTrials"]) == (1, 2)
    for ev in cause["evidence"]:
        assert "MemoryError" in lines[ev["line"] - 1], (ev, lines[ev["line"] - 1])


@pytest.mark.parametrize(
    ("captured", "code", "needle"),
    [
        ("worker_killed.log", "WORKER_DIED", "The actor died unexpectedly"),
        ("pickling.log", "PICKLING_ERROR", "TypeError: cannot pickle '_thread.lock' object"),
        ("module_missing.log", "MODULE_NOT_FOUND_ON_WORKERS", "No module named 'raydt_driver_only_helper'"),
        ("gloo_timeout.log", "COLLECTIVE_TIMEOUT", "Timed out waiting 3000ms for recv operation"),
        ("object_store_full.log", "OBJECT_STORE_FULL", "ray.exceptions.OutOfDiskError: Local disk is full"),
    ],
)
def test_real_logs_of_failed_train_runs(tmp_path: Path, captured: str, code: str, needle: str) -> None:
    """Captured from ``raydt run`` (Ray 2.60, Train V2, a lasting local cluster; tests/integration/
    test_explain_real.py makes them): a worker SIGKILLed with maxFailures 0 (Ray's text names the "OOM killer"
    as a possible cause, which must not make it an OUT_OF_MEMORY), a report holding a lock, an import only the
    driver's PYTHONPATH satisfies, a gloo rank left alone in an all-reduce (3 s group timeout), ray.put into an
    80 MiB object store whose disk counts as full."""
    log = tmp_path / captured
    shutil.copy(CAPTURED / captured, log)
    causes = causes_of(log)
    assert [c["code"] for c in causes] == [code], [(c["code"], c["evidence"]) for c in causes]
    assert any(needle in ev["text"] for ev in causes[0]["evidence"]) and causes[0]["summary"].startswith("the run")


def test_a_real_log_of_rays_memory_monitor_killing_a_train_worker(tmp_path: Path) -> None:
    """Captured from ``raydt run`` with RAY_memory_usage_threshold just above the machine's use and a worker that
    grows (tests/integration/test_explain_real.py): the summary reads the killed training worker's memory, not
    that of Ray's helper actors killed with it."""
    log = tmp_path / "oom.log"
    shutil.copy(CAPTURED / "ray_oom_killer.log", log)
    first = causes_of(log)[0]
    assert first["code"] == "OUT_OF_MEMORY" and "memory per worker ~2.9 GB" in first["summary"], first
    assert "on node 192.0.2.2" in first["summary"] and "memoryGb: 4" in first["fix"]
    assert any("killed due to the node running low on memory" in ev["text"] for ev in first["evidence"])


def test_explain_twice_in_one_process(tmp_path: Path) -> None:
    """The MCP server explains in its own process: a second call must find the function, not a submodule that
    the first call imported under the same name (it did: ``diagnose.explain`` became the module)."""
    from raydt import api

    log = tmp_path / "oom.log"
    log.write_bytes((CAPTURED / "ray_oom_killer.log").read_bytes())
    first, second = api.explain(str(log)), api.explain(str(log))
    assert first == second and first[0]["causes"][0]["code"] == "OUT_OF_MEMORY"
