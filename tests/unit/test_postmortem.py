"""Post-mortems (``raydt.experiment.postmortem``): the driver copies what ``raydt explain`` needs of a failure into
the experiment folder; explain reads the copies once Ray's session logs are gone. Fake session folders, no Ray."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from raydt.diagnose import explain
from raydt.experiment import MAX_POSTMORTEMS, POSTMORTEM_DIR, TRAIN_LEDGER
from raydt.experiment import postmortem as pm
from tests.integration.report_helper import synthesize_tune

RUN = "fit"
WORKER_ID = "074fe6d7f6cd38949d1d924afd33a166ab21df5bd4ca0ddc8740c59c"


def session(root: Path, pid: int = 4242) -> Path:
    """A Ray session folder as Ray 2.60 lays it out: the worker's .err/.out named by its pid, the raylet's log, Ray
    Train's per-run logs (each line names its run) and another run's log that must not be copied."""
    logs = root / "session_2026-12-06_11-07-56_839849_7469" / "logs"
    (logs / "train").mkdir(parents=True)
    (logs / f"worker-aaaa-01000000-{pid}.err").write_text("".join(f"noise {i}\n" for i in range(500)) + "MemoryError\n")
    (logs / f"worker-aaaa-01000000-{pid}.out").write_text("epoch 1\n")
    (logs / "worker-bbbb-01000000-777.err").write_text("another worker\n")
    (logs / "raylet.out").write_text("Killing worker with PID 4242 ... memory used=3.1GB\n")
    line = {"message": "Reporting training result 1", "process": pid, "run_name": RUN, "component": "worker"}
    (logs / "train" / f"ray-train-app-worker-{WORKER_ID}.log").write_text(json.dumps(line) + "\n")
    (logs / f"worker-{WORKER_ID}-01000000-{pid + 1}.err").write_text("RuntimeError: boom in the train worker\n")
    other = {**line, "run_name": "other-run"}
    (logs / "train" / "ray-train-app-worker-ffff.log").write_text(json.dumps(other) + "\n")
    return logs.parent


def test_a_failure_is_copied_with_the_worker_log_tail_the_raylet_log_and_the_node_state(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    exp.mkdir()
    where = pm.Where(session=session(tmp_path), node_ip="10.0.0.1", temp_dir=tmp_path)
    error = "ray.exceptions.RayTaskError: ray::ImplicitFunc.train() (pid=4242, ip=10.0.0.1)\nMemoryError"
    folder = pm.write(exp, "abc_00001", error, [], where)
    assert folder == exp / POSTMORTEM_DIR / "abc_00001-1"
    assert (folder / "error.txt").read_text() == error
    copied = {p.name: p.read_text() for p in (folder / "logs").iterdir()}
    assert set(copied) == {"worker-aaaa-01000000-4242.err", "worker-aaaa-01000000-4242.out", "raylet.out"}
    tail = copied["worker-aaaa-01000000-4242.err"].splitlines()
    assert len(tail) == pm.TAIL_LINES and tail[-1] == "MemoryError" and tail[0] == "noise 301"
    index = json.loads((folder / "postmortem.json").read_text())
    assert index["pids"] == [4242] and index["nodeIps"] == ["10.0.0.1"] and index["unreachable"] == []
    node = json.loads((folder / "node.json").read_text())
    assert node["memory"]["totalBytes"] > 0 and "driver's node" in node["scope"]
    assert [d["what"] for d in node["disks"]] == ["storage", "rayTemp"] and node["disks"][0]["totalBytes"] > 0
    # a second failure of the same trial gets the next number
    assert pm.write(exp, "abc_00001", error, [], where) == exp / POSTMORTEM_DIR / "abc_00001-2"


def test_a_train_failure_copies_the_runs_train_logs_and_its_workers_error_output(tmp_path: Path) -> None:
    where = pm.Where(session=session(tmp_path), node_ip="10.0.0.1", run_name=RUN)
    folder = pm.write(tmp_path / "exp", "train", "rank 0: RuntimeError: boom", [], where)
    assert folder is not None
    names = {p.name for p in (folder / "logs").iterdir()}
    assert names == {f"ray-train-app-worker-{WORKER_ID}.log", f"worker-{WORKER_ID}-01000000-4243.err", "raylet.out"}


def test_a_worker_on_another_node_is_fetched_or_said_unreachable(tmp_path: Path) -> None:
    asked: list[tuple[str, int]] = []

    def fetch(ip: str, pid: int) -> str | None:
        asked.append((ip, pid))
        return "OSError: No space left on device\n" if pid == 5151 else None

    where = pm.Where(session=session(tmp_path), node_ip="10.0.0.1", fetch=fetch)
    error = "ActorDiedError: ... (pid=5151, ip=10.0.0.7) ... (pid=6161, ip=10.0.0.7)"
    folder = pm.write(tmp_path / "exp", "t1", error, [], where)
    assert folder is not None and asked == [("10.0.0.7", 5151), ("10.0.0.7", 6161)]
    assert (folder / "logs" / "worker-5151@10.0.0.7.err").read_text() == "OSError: No space left on device\n"
    index = json.loads((folder / "postmortem.json").read_text())
    assert len(index["unreachable"]) == 1 and index["unreachable"][0].startswith("pid 6161: no log of it")
    # no session at all: said, and the error and node state are still kept
    bare = pm.write(tmp_path / "exp", "t2", "boom", [], pm.Where())
    assert bare is not None and (bare / "error.txt").is_file() and (bare / "node.json").is_file()
    assert "not found" in json.loads((bare / "postmortem.json").read_text())["unreachable"][0]


def test_an_experiment_keeps_at_most_max_postmortems(tmp_path: Path) -> None:
    for n in range(MAX_POSTMORTEMS):
        assert pm.write(tmp_path, f"t{n}", "boom", [], pm.Where()) is not None
    assert pm.write(tmp_path, "one-more", "boom", [], pm.Where()) is None
    assert len(list((tmp_path / POSTMORTEM_DIR).iterdir())) == MAX_POSTMORTEMS


def test_copying_never_fails_the_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "exp"
    blocker.write_text("a file where the experiment folder should be")
    with caplog.at_level(logging.WARNING):
        pm.record(str(blocker), "train", "boom")  # Ray is not initialised here: an empty Where
    assert "post-mortem of train not written" in caplog.text
    pm.record("s3://bucket/exp", "train", "boom")  # a URI storage: nothing written, nothing raised


def test_the_tune_ledger_callback_writes_a_postmortem_of_a_failed_trial(tmp_path: Path) -> None:
    from ray import cloudpickle

    from raydt.runners.tune.watch import TrialLedger

    pickled = tmp_path / "error.pkl"
    try:
        raise MemoryError("trial out of memory")
    except MemoryError as exc:
        pickled.write_bytes(cloudpickle.dumps(exc))

    class Trial:
        trial_id = "abc_00002"
        pickled_error_file = str(pickled)
        last_result: dict[str, Any] = {"pid": 31337}

    TrialLedger(str(tmp_path)).on_trial_error(0, [], Trial())
    folder = tmp_path / POSTMORTEM_DIR / "abc_00002-1"
    assert "MemoryError: trial out of memory" in (folder / "error.txt").read_text()
    assert json.loads((folder / "postmortem.json").read_text())["pids"] == [31337]


def test_the_train_relay_writes_a_postmortem_of_a_worker_failure(tmp_path: Path) -> None:
    from raydt.progress.relay import Relay

    relay = Relay.__new__(Relay)  # no Ray queue: only the driver-side hook is tested
    relay.ledger = str(tmp_path / TRAIN_LEDGER)
    relay._postmortem({1: "RuntimeError: rank 1", 0: "RuntimeError: rank 0 (pid=99, ip=10.0.0.3)"})
    text = (tmp_path / POSTMORTEM_DIR / "train-1" / "error.txt").read_text()
    assert text.index("rank 0:") < text.index("rank 1:")


def test_explain_reads_the_copies_when_the_trial_folder_and_the_session_are_gone(tmp_path: Path) -> None:
    exp = synthesize_tune(tmp_path, trials=3, iterations=2)
    failed = sorted(exp.glob("trial_*"))[1]
    tid = failed.name.split("_")[1]
    where = pm.Where(session=session(tmp_path / "ray"), node_ip="10.0.0.1")
    pm.write(exp, tid, "RuntimeError: the first try\n(pid=4242, ip=10.0.0.1)", [], where)
    pm.write(exp, tid, "Traceback (most recent call last):\nMemoryError\n(pid=4242, ip=10.0.0.1)", [], where)
    node = exp / POSTMORTEM_DIR / f"{tid}-2" / "node.json"
    node.write_text(json.dumps({**json.loads(node.read_text()), "memory": {"totalBytes": 16 << 30,
                                "availableBytes": 1 << 29, "percent": 96.9}}))  # fmt: skip
    shutil.rmtree(tmp_path / "ray")  # Ray's session logs are gone
    doc, code = explain(str(exp))
    first = doc["causes"][0]
    assert code == 0 and first["code"] == "OUT_OF_MEMORY", doc
    assert (first["trials"], first["totalTrials"]) == (1, 3), first
    assert "node 10.0.0.1 had 0.5 of 16.0 GB memory available (96.9% used)" in first["summary"]
    files = {Path(e["file"]).relative_to(exp).as_posix() for e in first["evidence"]}
    assert f"{POSTMORTEM_DIR}/{tid}-2/error.txt" in files
    assert f"{POSTMORTEM_DIR}/{tid}-2/logs/worker-aaaa-01000000-4242.err" in files
    assert not any("RuntimeError" in c["summary"] for c in doc["causes"])  # the earlier failure is not what ended it
