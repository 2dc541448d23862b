"""``raydt mcp`` running real searches, driven by the MCP SDK's client over stdio: a tune run polled to its end
(live progress, then the result), a second run refused while one runs, a run cancelled mid-search (a partial
result) and resumed. Every document is checked against raydt's output schema; the server stops its runs by pid.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession

from raydt.mcp import models
from tests.conftest import ROOT, assert_seed_output, validate
from tests.unit.test_mcp_protocol import document, over_stdio

pytestmark = pytest.mark.slow


def seed_tune(tmp_path: Path) -> dict[str, Any]:
    """examples/seed-tune.json (the skill wrapper), sized down: 2 trials of 2 epochs, stored under tmp_path."""
    spec = json.loads((ROOT / "examples/seed-tune.json").read_text())
    context = spec["skill"]["context"]
    context["trainConfig"]["epochs"] = 2
    context["tuneConfig"]["numSamples"] = 2
    context["runConfig"] = {"storagePath": str(tmp_path / "results"), "name": "seed"}
    return spec


def slow_search(tmp_path: Path) -> dict[str, Any]:
    """4 trials of 4 one-second steps, 2 at a time, each step checkpointed (resumable)."""
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
        "runConfig": {"storagePath": str(tmp_path / "results"), "name": "slow"},
    }


def check(doc: dict[str, Any]) -> dict[str, Any]:
    validate(doc, models.run_document_schema())
    if doc.get("result") is not None:
        assert_seed_output(doc["result"])
    return doc


async def poll(client: ClientSession, run_id: str, until: Any, timeout: float = 120) -> list[dict[str, Any]]:
    """get_run every 0.5 s until ``until(doc)``: every document seen."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = time.monotonic()
        got = await client.call_tool("get_run", {"runId": run_id})
        assert not got.is_error and time.monotonic() - started < 5  # get_run never blocks on the run
        seen.append(check(document(got)))
        if until(seen[-1]):
            return seen
        await _sleep(0.5)
    raise AssertionError(f"run {run_id} did not get there in {timeout}s: {seen[-1] if seen else None}")


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def session_members(sid: int) -> list[int]:
    """Live processes of the session a run's process led (Ray's processes it started stay in it)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def wait_gone(pids: list[int], timeout: float = 20) -> list[int]:
    """The runs' processes and their sessions' members still alive after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if alive(p)] + [m for p in pids for m in session_members(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.3)


def test_run_poll_refuse_cancel_and_resume_over_mcp(tmp_path: Path) -> None:
    pids: list[int] = []

    async def body(client: ClientSession) -> None:
        started = time.monotonic()
        first = await client.call_tool("run", {"spec": seed_tune(tmp_path)})
        assert not first.is_error and time.monotonic() - started < 5  # returns at once
        run = check(document(first))
        pids.append(run["pid"])
        assert run["state"] == "running"

        refused = await client.call_tool("run", {"spec": slow_search(tmp_path)})
        assert refused.is_error
        assert document(refused)["error"]["code"] == "RUN_IN_PROGRESS"
        assert_seed_output(document(refused))

        notes: list[tuple[float, str | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            notes.append((progress, message))

        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 150
        while not seen or seen[-1]["state"] == "running":  # long polls: get_run waits up to 10 s per call
            assert time.monotonic() < deadline, seen[-1]
            got = await client.call_tool("get_run", {"runId": run["runId"], "waitS": 10}, progress_callback=on_progress)
            assert not got.is_error
            seen.append(check(document(got)))
        end = seen[-1]
        assert len(seen) < 20 and notes, (len(seen), notes)  # waited server-side, and told the client meanwhile
        # every line of the live view reaches the client, not one sampled per poll: both trials' ends are there
        ends = {m.split()[1] for _, m in notes if m and m.startswith("trial ") and " finished after " in m}
        assert len(ends) == 2, notes
        assert end["state"] == "succeeded" and end["exitCode"] == 0, end
        result = end["result"]
        assert result["status"] == "success" and result["results"]["numTrials"] == 2
        assert Path(result["checkpointPath"]).is_dir()
        assert end["progress"]["trialsDone"] == 2 and end["progress"]["best"]["metric"] == "val_loss"
        assert any(d["progress"].get("lastMetrics") for d in seen)  # live metrics were there to see

        second = check(document(await client.call_tool("run", {"spec": slow_search(tmp_path)})))
        pids.append(second["pid"])
        await poll(client, second["runId"], lambda d: "best" in d["progress"] or d["state"] != "running")
        cancelled = await client.call_tool("cancel_run", {"runId": second["runId"], "timeoutS": 90})
        doc = check(document(cancelled))
        assert doc["state"] == "cancelled" and doc["exitCode"] == 3, doc
        partial = doc["result"]
        assert partial["status"] == "partial" and partial["interrupted"] is True
        r = partial["results"]
        assert r["completedTrials"] < 4 and r["endReason"] == "INTERRUPTED", r
        # trials cut off mid-run are INTERRUPTED (not TERMINATED, not completed); finished ones ran all 4 steps
        cut = [t for t in partial["trials"] if t["status"] == "INTERRUPTED"]
        assert cut and all(t["iterations"] < 4 for t in cut), partial["trials"]
        assert all(t["iterations"] == 4 for t in partial["trials"] if t["status"] == "TERMINATED"), partial["trials"]
        assert r["interruptedTrials"] == len(cut)
        assert r["completedTrials"] == sum(1 for t in partial["trials"] if t["status"] == "TERMINATED")
        best = next(t for t in partial["trials"] if t["trialId"] == r["bestTrialId"])
        assert r["bestTrialStatus"] == best["status"]
        assert "raydt resume" in " ".join(partial["warnings"]), partial["warnings"]
        done_first = {t["trialId"] for t in partial["trials"] if t["status"] == "TERMINATED"}

        resumed = check(document(await client.call_tool("resume_run", {"experimentPath": partial["experimentPath"]})))
        pids.append(resumed["pid"])
        done = (await poll(client, resumed["runId"], lambda d: d["state"] != "running"))[-1]
        assert done["state"] == "succeeded" and done["result"]["results"]["completedTrials"] == 4, done
        # only what was left ran: the finished trials are kept, every trial ends with all its steps
        rr, trials = done["result"]["results"], done["result"]["trials"]
        assert (rr["numTrials"], rr["interruptedTrials"], rr["endReason"]) == (4, 0, "ALL_TRIALS_DONE"), rr
        assert rr["bestTrialStatus"] == "TERMINATED" and all(t["iterations"] == 4 for t in trials)
        assert rr["bestConfig"]["x"] == min(t["config"]["x"] for t in trials)
        assert done_first <= {t["trialId"] for t in trials}

        listed = document(await client.call_tool("list_runs", {}))
        assert [r["state"] for r in listed["runs"]] == ["succeeded", "cancelled", "succeeded"]

        status = await client.call_tool("cluster_status", {})  # no run now: it may start its own short Ray
        cluster = document(status)
        assert not status.is_error and cluster["clusterStatus"]["numNodes"] == 1, cluster
        assert_seed_output(cluster)

    over_stdio(tmp_path, body)
    assert wait_gone(pids) == []


def test_the_server_stops_a_running_run_when_its_client_goes(tmp_path: Path) -> None:
    pids: list[int] = []

    async def body(client: ClientSession) -> None:
        run = document(await client.call_tool("run", {"spec": slow_search(tmp_path)}))
        pids.append(run["pid"])
        await poll(client, run["runId"], lambda d: "best" in d["progress"])  # Ray up, trials reporting

    over_stdio(tmp_path, body)  # the client closes stdin: the server stops the run (SIGINT, then by pid)
    assert wait_gone(pids) == []  # the run and every process of its session (Ray's)
    record = json.loads(next((tmp_path / "mcp/runs").glob("*/run.json")).read_text())
    assert record["cancelRequested"] is True
