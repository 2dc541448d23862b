"""raydt.utilisation without Ray: the sampler on this very process (a busy thread, a known allocation, a child),
the record's file and its reading, the sums per trial / worker / run, and the warnings' exact words."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from raydt import utilisation
from raydt.experiment import USAGE_DIR
from raydt.utilisation import figures, gpu
from raydt.utilisation.sampler import Sampler
from raydt.utilisation.watch import Reserved, watched

RECORD = {"owner": "t1", "rank": 0, "reserved": {"cpu": 2.0, "gpu": 0.0}}


TICK = 2 / os.sysconf("SC_CLK_TCK")  # the process's CPU time is read in ticks, at the start and at the end


def burn(seconds: float) -> None:
    """Busy this thread for ``seconds`` of its own CPU time (on a shared machine wall time says little)."""
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        pass


# -- the sampler, on this process ----------------------------------------------------------------------------


def test_the_sampler_counts_a_busy_thread_and_costs_next_to_nothing() -> None:
    sampler = Sampler(None, RECORD, interval=0.05).start()
    burn(0.5)
    doc = sampler.stop()
    # this thread's 0.5 s, plus what the rest of pytest did meanwhile; less TICK: the process's CPU time is
    # counted in clock ticks at both ends while the burn is timed by the thread's finer clock
    assert 0.5 - TICK <= doc["cpuSeconds"] <= 0.8, doc
    assert doc["wallSeconds"] >= 0.5 and doc["samples"] >= 5 and doc["final"] is True
    assert doc["samplerCpuSeconds"] / doc["samples"] < 0.002, doc  # < 2 ms a sample: < 0.4 % at the 0.5 s default
    assert doc["owner"] == "t1" and doc["reserved"] == {"cpu": 2.0, "gpu": 0.0} and "gpu" not in doc


def test_the_peak_holds_an_allocation_no_sample_saw() -> None:
    np = pytest.importorskip("numpy")
    sampler = Sampler(None, RECORD, interval=60).start()  # no sample between start and stop
    before = sampler.rss
    block = np.ones(300_000_000 // 8)  # 300 MB, every page touched
    del block
    doc = sampler.stop()
    if sys.platform.startswith("linux"):  # the kernel's peak (VmHWM, reset at start)
        assert doc["peakRssBytes"] - before >= 0.29e9, doc
    assert doc["rssBytes"] - before < 0.1e9  # freed again


def test_a_child_process_s_cpu_counts() -> None:
    sampler = Sampler(None, RECORD, interval=0.05).start()
    code = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass"
    subprocess.run([sys.executable, "-c", code], check=True)
    doc = sampler.stop()
    assert doc["cpuSeconds"] >= 0.45, doc


def test_a_gpu_probe_s_figures_go_into_the_record() -> None:
    readings = iter([(0.2, 1_000_000_000), (0.4, 3_000_000_000)] * 100)
    sampler = Sampler(None, RECORD, interval=0.05, gpu=lambda pids: next(readings)).start()
    time.sleep(0.2)
    doc = sampler.stop()
    assert doc["gpu"]["peakMemoryBytes"] == 3_000_000_000 and 0.2 <= doc["gpu"]["utilisation"] <= 0.4


def test_the_nvml_probe_reads_the_worker_s_processes_else_the_whole_device() -> None:
    procs = [SimpleNamespace(pid=10, usedGpuMemory=2e9), SimpleNamespace(pid=99, usedGpuMemory=5e9)]
    nvml = SimpleNamespace(
        nvmlDeviceGetUtilizationRates=lambda h: SimpleNamespace(gpu=60),
        nvmlDeviceGetComputeRunningProcesses=lambda h: procs,
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(used=9e9),
    )
    assert gpu.NvmlProbe(nvml, ["h"], exclusive=True)([10, 11]) == (0.6, 2_000_000_000)
    assert gpu.NvmlProbe(nvml, ["h"], exclusive=True)([12]) == (0.6, 9_000_000_000)  # another pid namespace
    assert gpu.NvmlProbe(nvml, ["h"], exclusive=False)([12]) == (0.6, 0)  # a shared GPU: not the others' memory
    assert gpu.probe(0.0) is None  # no GPU reserved: no probe


# -- the record's file ---------------------------------------------------------------------------------------


def test_a_watched_loop_keeps_its_signature_and_writes_one_record(tmp_path: Path) -> None:
    def loop(config: dict[str, Any]) -> str:
        burn(0.2)
        return "done"

    reserved = Reserved.of({"CPU": 2.0, "memory": 4e9})
    wrapped = watched(loop, str(tmp_path), "abc_00001", reserved, in_train_worker=False)
    assert inspect.signature(wrapped) == inspect.signature(loop)  # Ray Train and the trials call by it
    assert wrapped({}) == "done"
    (path,) = (tmp_path / USAGE_DIR).iterdir()
    doc = json.loads(path.read_text())
    assert path.name.startswith("abc_00001.0.") and doc["final"] is True and doc["format"] == 1
    assert doc["reserved"] == {"cpu": 2.0, "gpu": 0.0, "memoryBytes": 4e9} and doc["cpuSeconds"] >= 0.2 - TICK
    assert [r["owner"] for r in utilisation.read(tmp_path / USAGE_DIR)] == ["abc_00001"]
    assert utilisation.read(tmp_path / USAGE_DIR, since=doc["startedAt"] + 1) == []  # an earlier run's record


def test_a_loop_whose_storage_is_a_uri_is_left_as_it_is() -> None:
    def loop() -> None:
        return None

    assert watched(loop, "s3://bucket/exp", "train", Reserved(1.0), in_train_worker=True) is loop


def test_reading_skips_what_is_not_a_record(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"format": 1, "own')  # cut off
    (tmp_path / "b.json").write_text('{"format": 99}')  # another layout
    (tmp_path / "c.txt").write_text("{}")
    assert utilisation.read(tmp_path) == [] and utilisation.read(tmp_path / "missing") == []


# -- the sums and the warnings -------------------------------------------------------------------------------


def rec(
    owner: str, cpu: float, wall: float, used: float, peak_gb: float, rank: int = 0, **extra: Any
) -> dict[str, Any]:
    reserved = {
        "cpu": cpu,
        "gpu": extra.pop("gpus", 0.0),
        **({"memoryBytes": extra.pop("mem") * 1e9} if "mem" in extra else {}),
    }
    return {"owner": owner, "rank": rank, "reserved": reserved, "wallSeconds": wall, "cpuSeconds": used,
            "peakRssBytes": int(peak_gb * 1e9), **extra}  # fmt: skip


def test_sums_per_trial_and_for_the_run() -> None:
    records = [rec("a", 4, 10, 12.4, 2.0, mem=8), rec("b", 4, 10, 12.4, 7.6, mem=8)]
    run = utilisation.summary(records)
    assert run == {
        "processes": 2, "workerSeconds": 20, "cpusPerWorker": 4, "cpuSecondsUsed": 24.8, "cpuSecondsReserved": 80,
        "cpuFraction": 0.31, "peakMemoryGb": 7.6, "memoryGbReserved": 8.0, "memoryFraction": 0.95,
    }  # fmt: skip
    assert utilisation.by_owner(records)["a"]["peakMemoryGb"] == 2.0
    assert utilisation.summary([]) is None


def test_the_warnings_name_the_change_to_make() -> None:
    records = [rec("a", 4, 10, 12.4, 2.0, mem=8), rec("b", 4, 10, 12.4, 7.6, mem=8)]
    assert utilisation.advice(records, "tune") == [
        "trials used 31 % of the 4 CPUs each reserved: set config.resourcesPerWorker.cpu to 2 and run twice as "
        "many at once",
        "peak memory 7.6 GB of 8: raise config.resourcesPerWorker.memoryGb (to about 9.5) before a larger batch",
    ]
    train = [rec("train", 4, 10, 5, 1.0, rank=0), rec("train", 4, 10, 5, 1.0, rank=1)]
    assert utilisation.advice(train, "train") == [
        "training workers used 12 % of the 4 CPUs each reserved: set config.resourcesPerWorker.cpu to 1 and the "
        "same CPUs then hold 4 times as many workers (config.numWorkers)"
    ]
    assert [w["rank"] for w in utilisation.by_rank(train)] == [0, 1]


@pytest.mark.parametrize(
    "records",
    [
        [rec("a", 1, 10, 2, 1.0)],  # one CPU reserved: nothing to give back
        [rec("a", 2, 10, 11, 1.0)],  # 55 % of 2
        [rec("a", 2, 0.5, 0.1, 1.0)],  # too short to tell
        [rec("a", 2, 10, 16, 1.0), rec("b", 2, 10, 1, 1.0)],  # 42 %, but one trial used 1.6 of its 2
        [rec("a", 2, 10, 19, 7.0, mem=8)],  # 88 % of memoryGb
    ],
)
def test_no_warning_where_the_figures_are_not_clear(records: list[dict[str, Any]]) -> None:
    assert utilisation.advice(records, "tune") == []


def test_the_cpu_suggestion_leaves_the_busiest_trial_what_it_used() -> None:
    records = [rec("a", 4, 10, 16, 1.0), rec("b", 4, 10, 1, 1.0)]  # 21 % in all, but one trial used 1.6 CPUs
    assert utilisation.advice(records, "tune") == [
        "trials used 21 % of the 4 CPUs each reserved: set config.resourcesPerWorker.cpu to 2 and run twice as "
        "many at once"
    ]


def test_gpu_figures_and_an_idle_gpu_in_a_search() -> None:
    gpu_rows = [rec("a", 1, 10, 9, 1.0, gpus=1.0, gpu={"utilisation": 0.1, "peakMemoryBytes": 2e9}),
                rec("b", 1, 30, 9, 1.0, gpus=1.0, gpu={"utilisation": 0.3, "peakMemoryBytes": 5e9})]  # fmt: skip
    run = figures.summary(gpu_rows)
    assert run is not None and (run["gpuUtilisation"], run["peakGpuMemoryGb"], run["gpusPerWorker"]) == (0.25, 5, 1)
    assert utilisation.advice(gpu_rows, "tune") == [
        "trials kept their GPUs busy 25 % of the time: set config.resourcesPerWorker.gpu to 0.5 and run twice as "
        "many at once"
    ]
    assert utilisation.advice(gpu_rows, "train") == []
