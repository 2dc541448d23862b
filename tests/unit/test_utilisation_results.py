"""Where the usage records end up: a train run's and a search's result (results.utilisation, each trial row's, the
warnings), and the report's "Where the resources went" panel; records written here as the sampler writes them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from raydt import results
from raydt.experiment import USAGE_DIR
from raydt.report import write
from raydt.runners.train import Outcome, result
from tests.integration.report_helper import synthesize_tune
from tests.unit.test_report import value_of
from tests.unit.test_runner_results import STATUS, report, train_plan
from tests.unit.test_tune_results import FakeGrid, FakeResult, done, losses, summarize, tune_plan, write_ledger


def put(
    exp: Path,
    owner: str,
    rank: int,
    cpus: float,
    wall: float,
    used: float,
    peak_gb: float,
    started: float | None = None,
    **reserved: Any,
) -> None:
    """One record as ``raydt.utilisation.sampler`` leaves it."""
    folder = exp / USAGE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "format": 1, "owner": owner, "rank": rank, "reserved": {"cpu": cpus, "gpu": 0.0, **reserved},
        "pid": 1, "host": "h", "startedAt": started or time.time(), "wallSeconds": wall, "cpuSeconds": used,
        "rssBytes": 1, "peakRssBytes": int(peak_gb * 1e9), "samples": 3, "samplerCpuSeconds": 0.001, "final": True,
    }  # fmt: skip
    (folder / f"{owner}.{rank}.{len(list(folder.iterdir()))}.json").write_text(json.dumps(doc))


def test_a_train_result_carries_each_worker_s_figures_and_the_warnings(tmp_path: Path) -> None:
    p = train_plan(tmp_path, numWorkers=2, resourcesPerWorker={"cpu": 4, "memoryGb": 2})
    exp = Path(p.experiment_path)
    began = time.time()
    put(exp, "train", 0, 4, 10, 20, 1.9, memoryBytes=2e9)
    put(exp, "train", 1, 4, 10, 4, 1.0, memoryBytes=2e9)
    put(exp, "train", 0, 4, 99, 99, 9.9, memoryBytes=2e9, started=began - 3600)  # an earlier run of the experiment
    out = result(p, Outcome([report(tmp_path, 0.3, 1)], [], p.experiment_path, 12.0, None, began=began), STATUS)
    assert results.problems(out) == []
    usage = out["results"]["utilisation"]
    assert (usage["cpuSecondsUsed"], usage["cpuSecondsReserved"], usage["cpuFraction"]) == (24, 80, 0.3)
    assert (usage["peakMemoryGb"], usage["memoryGbReserved"], usage["memoryFraction"]) == (1.9, 2, 0.95)
    assert [(w["rank"], w["cpuFraction"]) for w in usage["workers"]] == [(0, 0.5), (1, 0.1)]
    assert (
        "training workers used 30 % of the 4 CPUs each reserved: set config.resourcesPerWorker.cpu to 2"
        in (out["warnings"][0])
    )
    assert out["warnings"][1].startswith("peak memory 1.9 GB of 2: raise config.resourcesPerWorker.memoryGb")


def test_a_run_without_records_has_no_utilisation(tmp_path: Path) -> None:
    p = train_plan(tmp_path)
    out = result(p, Outcome([report(tmp_path, 0.3, 1)], [], p.experiment_path, 1.0, None, began=time.time()), STATUS)
    assert "utilisation" not in out["results"]


def test_a_search_gives_each_trial_its_figures_and_the_run_their_sum(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    write_ledger(tmp_path, *done("t1", "t2"))
    exp = Path(p.train.experiment_path)
    put(exp, "t1", 0, 2, 4, 4, 0.2)
    put(exp, "t2", 0, 2, 4, 0.4, 0.5)
    put(exp, "t2", 0, 2, 2, 0.2, 0.3)  # a retry of t2 in a fresh process
    put(exp, "gone", 0, 2, 100, 1, 0.1)  # not a trial of this result
    grid = FakeGrid([FakeResult("t1", losses(0.5, 0.4)), FakeResult("t2", losses(0.6))])
    out = summarize(p, grid, 9.0)
    assert results.problems(out) == []
    rows = {t["trialId"]: t["utilisation"] for t in out["trials"]}
    assert (rows["t1"]["cpuFraction"], rows["t2"]["processes"], rows["t2"]["peakMemoryGb"]) == (0.5, 2, 0.5)
    run = out["results"]["utilisation"]
    assert (run["processes"], run["cpuSecondsUsed"], run["cpuSecondsReserved"]) == (3, 4.6, 20)
    assert (
        "trials used 23 % of the 2 CPUs each reserved: set config.resourcesPerWorker.cpu to 1 and run twice as many "
        "at once" in out["warnings"]
    )


def test_the_report_shows_where_the_resources_went(tmp_path: Path) -> None:
    exp = synthesize_tune(tmp_path, trials=3, iterations=2)
    ids = [f"{n:05d}abc"[:8] for n in range(3)]
    for trial_id, used in zip(ids, (8.0, 2.0, 2.0), strict=True):
        put(exp, trial_id, 0, 4, 10, used, 1.5)
    html = write(exp).html.read_text(encoding="utf-8")
    assert "<h2>Where the resources went</h2>" in html
    assert float(value_of(html, "usage-cpuFraction")) == 0.1 and float(value_of(html, "usage-cpuSecondsUsed")) == 12
    assert html.count("<tr data-usage=") == 3 and f'data-usage="{ids[0]}"' in html
    assert (
        "trials used 10 % of the 4 CPUs each reserved: set config.resourcesPerWorker.cpu to 1 and run 4 times as "
        "many at once" in html
    )


def test_a_report_without_records_has_no_panel(tmp_path: Path) -> None:
    html = write(synthesize_tune(tmp_path, trials=2, iterations=2)).html.read_text(encoding="utf-8")
    assert "Where the resources went" not in html
