"""raydt explain on failures produced for real on a lasting local cluster (the e2e tier): a trainer that reports an
object Ray cannot serialize, one that imports a module only the driver has, a gloo rank that skips a collective,
Ray's memory monitor killing a worker, an object store with nowhere to spill. (A trial out of memory, a SIGKILLed
worker and a pending timeout are explained in the slow tier: test_fault_tolerance.py.) Each is explained from what
the run left: its experiment folder, its log file, its saved result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, ROOT, assert_seed_output, run_cli
from tests.integration.diagnose_helper import lasting_cluster

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # `make test-e2e` (docs/testing.md), not CI
TRAINERS = FIXTURES / "explain_trainers.py"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with lasting_cluster(tmp_path_factory.mktemp("state"), "--cpus", "2") as found:
        yield found


def spec_file(tmp_path: Path, name: str, spec: dict[str, Any]) -> Path:
    spec.setdefault("runConfig", {}).update(storagePath=str(tmp_path / "results"), name=name)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec))
    return path


def train(trainer: str, **loop: Any) -> dict[str, Any]:
    return {"mode": "train", "config": {"numWorkers": 1},
            "trainConfig": {"trainerPath": f"{TRAINERS}:{trainer}", "trainLoopConfig": loop, "metric": "loss"},
            "runConfig": {"maxFailures": 0}}  # fmt: skip


def explained(path: Path) -> list[dict[str, Any]]:
    res = run_cli("explain", str(path))
    assert res.code == 0, res.out
    return list(res.out["causes"])


def test_an_unpicklable_report_is_a_pickling_error(cluster: dict[str, Any], tmp_path: Path) -> None:
    run = run_cli("run", str(spec_file(tmp_path, "pickle", train("unpicklable"))))
    assert run.out["status"] == "error", run.out
    saved = tmp_path / "result.json"
    saved.write_text(run.stdout)
    first = explained(saved)[0]
    assert first["code"] == "PICKLING_ERROR", first
    assert any("pickle" in ev["text"].lower() or "serializ" in ev["text"].lower() for ev in first["evidence"])


def test_a_module_only_the_driver_has_is_missing_on_the_workers(cluster: dict[str, Any], tmp_path: Path) -> None:
    helper = tmp_path / "driver_only"
    helper.mkdir()
    (helper / "raydt_driver_only_helper.py").write_text("VALUE = 1\n")
    spec = train("imports_driver_only_module")
    # the workers' PYTHONPATH as other nodes would have it: raydt otherwise hands them the driver's
    spec["config"]["rayInit"] = {"runtime_env": {"env_vars": {"PYTHONPATH": str(tmp_path / "elsewhere")}}}
    path = spec_file(tmp_path, "modules", spec)
    env = {**os.environ, "PYTHONPATH": str(helper)}
    proc = subprocess.run([sys.executable, "-m", "raydt", "run", str(path)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env)  # fmt: skip
    out = json.loads(proc.stdout)
    assert_seed_output(out)
    assert out["status"] == "error", out
    first = explained(Path(out["logFile"]))[0]
    assert first["code"] == "MODULE_NOT_FOUND_ON_WORKERS" and "raydt_driver_only_helper" in first["summary"], first
    log_lines = Path(out["logFile"]).read_text().splitlines()
    assert all("raydt_driver_only_helper" in log_lines[ev["line"] - 1] for ev in first["evidence"])


def test_a_rank_that_skips_a_collective_is_a_collective_timeout(cluster: dict[str, Any], tmp_path: Path) -> None:
    """Two gloo ranks with a 3 s group timeout: rank 0 all-reduces, rank 1 never joins; gloo's own timeout."""
    spec = train("skips_a_collective", timeoutS=3, sleepS=30)
    spec["config"]["numWorkers"] = 2
    run = run_cli("run", str(spec_file(tmp_path, "gloo", spec)))
    assert run.out["status"] == "error", run.out
    first = explained(tmp_path / "results" / "gloo")[0]  # the experiment folder: its log file is found beside it
    assert first["code"] == "COLLECTIVE_TIMEOUT" and first["summary"].endswith("after waiting 3000 ms"), first
    assert "same collective calls" in first["fix"]
    ev = next(e for e in first["evidence"] if e["file"] == run.out["logFile"])  # also in the train ledger
    assert "Timed out waiting 3000ms" in ev["text"], first["evidence"]
    assert "Timed out waiting 3000ms" in Path(ev["file"]).read_text().splitlines()[ev["line"] - 1]


def test_rays_memory_monitor_killing_a_worker_is_out_of_memory(cluster: dict[str, Any], tmp_path: Path) -> None:
    """An embedded Ray of its own (config.address: local) whose memory monitor kills just above what the machine
    uses now; the worker grows in 64 MiB steps until it is killed."""
    meminfo = {ln.split(":")[0]: int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()}
    used = 1 - meminfo["MemAvailable"] / meminfo["MemTotal"]
    spec = train("hogs_memory", steps=128)  # up to 8 GiB: killed well before, at about 2.5 GB more than now
    spec["config"].update(address="local", rayInit={"num_cpus": 1})
    path = spec_file(tmp_path, "hog", spec)
    env = {
        **os.environ,
        "RAY_memory_usage_threshold": f"{min(used + 0.1, 0.95):.3f}",
        "RAY_memory_monitor_refresh_ms": "200",
    }
    proc = subprocess.run([sys.executable, "-m", "raydt", "run", str(path)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env)  # fmt: skip
    out = json.loads(proc.stdout)
    assert out["status"] == "error" and out["error"]["code"] == "OUT_OF_MEMORY", out
    saved = tmp_path / "result.json"
    saved.write_text(proc.stdout)
    first = explained(saved)[0]
    assert first["code"] == "OUT_OF_MEMORY" and "memory per worker ~" in first["summary"], first
    assert "config.resourcesPerWorker.memoryGb:" in first["fix"]
    assert any("running low on memory" in ev["text"] for ev in first["evidence"])


def test_an_object_store_with_nowhere_to_spill_is_object_store_full(cluster: dict[str, Any], tmp_path: Path) -> None:
    """An embedded Ray of its own with an 80 MiB object store that counts its disk as full
    (RAY_local_fs_capacity_threshold=0: nothing can be spilled); the trainer ray.puts 16 MiB arrays until
    Ray refuses one with OutOfDiskError."""
    spec = train("fills_the_object_store", puts=32)
    spec["config"].update(address="local", rayInit={"num_cpus": 1, "object_store_memory": 80 << 20})
    path = spec_file(tmp_path, "store", spec)
    env = {**os.environ, "RAY_local_fs_capacity_threshold": "0"}
    proc = subprocess.run([sys.executable, "-m", "raydt", "run", str(path)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env)  # fmt: skip
    out = json.loads(proc.stdout)
    assert out["status"] == "error" and "OutOfDiskError" in out["error"]["message"], out
    saved = tmp_path / "result.json"
    saved.write_text(proc.stdout)
    first = explained(saved)[0]
    assert first["code"] == "OBJECT_STORE_FULL" and "OutOfDiskError" in first["summary"], first
    assert "object_store_memory" in first["fix"] and "RAY_local_fs_capacity_threshold" in first["fix"]
    files = {ev["file"] for ev in first["evidence"]}
    assert str(saved) in files and out["logFile"] in files, first["evidence"]  # the result and Ray's output
    log = Path(out["logFile"]).read_text().splitlines()
    assert any("OutOfDiskError" in log[ev["line"] - 1] for ev in first["evidence"] if ev["file"] == out["logFile"])
