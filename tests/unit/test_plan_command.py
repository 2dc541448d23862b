"""``raydt plan``'s arithmetic and decisions without Ray: trials at once and why, fits or not (with the reason and a
hint), the wall-time estimate from measured times, the cost, ``config.costPerHour``'s rules, the probe's spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from raydt import plan as plans
from raydt.errors import SpecError
from raydt.forecast import measure, shape, target
from raydt.forecast.probe import probe_spec
from raydt.plan.cost import Prices, cost, per_hour
from raydt.spec import loader
from tests.conftest import FIXTURES

LR = {"lr": {"type": "uniform", "min": 0.0, "max": 1.0}}


def tune_spec(samples: int = 4, cpu: float = 1, at_once: int | None = None, **config: Any) -> dict[str, Any]:
    tc: dict[str, Any] = {"searchSpace": LR, "numSamples": samples, "scheduler": "fifo", "searchAlgorithm": "random"}
    if at_once is not None:
        tc["maxConcurrentTrials"] = at_once
    return {
        "mode": "tune",
        "config": {"resourcesPerWorker": {"cpu": cpu}, "address": "local", **config},
        "trainConfig": {"trainerPath": f"{FIXTURES}/tune_functions.py:paced", "epochs": 4},
        "tuneConfig": {**tc, "metric": "score", "mode": "min"},
    }


def node(cpu: float, gpu: float = 0.0, memory: float = 8e9) -> dict[str, Any]:
    return {"cpu": cpu, "gpu": gpu, "memoryBytes": int(memory), "customResources": {}}


def decide(spec: dict[str, Any], *nodes: dict[str, Any]) -> shape.Shape:
    loaded = loader.load(spec)
    the_plan = plans.tune(loaded) if spec["mode"] == "tune" else plans.train(loaded)
    return shape.decide(the_plan, target.status_of(list(nodes)))


@pytest.mark.parametrize(
    ("spec", "nodes", "at_once", "limit"),
    [
        (tune_spec(8), [node(2)], 2, "capacity"),  # 2 CPUs hold 2 one-CPU trials
        (tune_spec(8, at_once=1), [node(4)], 1, "maxConcurrentTrials"),
        (tune_spec(3), [node(8)], 3, "numSamples"),
        (tune_spec(8, cpu=0.5), [node(2), node(1)], 6, "capacity"),  # fractions, summed over nodes
    ],
)
def test_trials_at_once_and_what_limits_it(
    spec: dict[str, Any], nodes: list[dict[str, Any]], at_once: int, limit: str
) -> None:
    found = decide(spec, *nodes)
    assert (found.at_once, found.limit, found.fits) == (at_once, limit, True)
    assert f"({limit}) decides" in found.reason
    assert found.num_trials == spec["tuneConfig"]["numSamples"] and found.iterations == 4
    assert found.reserved == {"CPU": at_once * spec["config"]["resourcesPerWorker"]["cpu"]}


def test_a_search_whose_trial_fits_no_node_does_not_fit_with_a_hint() -> None:
    found = decide(tune_spec(4, cpu=4), node(2), node(2))  # 4 CPUs in all, but 2 on each node
    assert not found.fits and found.capacity == 0
    assert "with 4 on one node" in found.why and "at most 2 on a node" in found.why
    assert found.hint and "config.resourcesPerWorker.cpu" in found.hint


def test_a_train_run_that_does_not_fit_and_one_that_does() -> None:
    spec = {"mode": "train", "config": {"numWorkers": 3, "resourcesPerWorker": {"cpu": 1}, "address": "local"}}
    found = decide(spec, node(2))
    assert not found.fits and "only 2 such worker(s)" in found.why and "numWorkers to at most 2" in str(found.hint)
    found = decide(spec, node(4))
    assert found.fits and (found.at_once, found.limit, found.num_trials) == (1, "one run", 1)
    assert found.reserved == {"CPU": 3.0}


def test_memory_reserved_counts_in_the_capacity_and_is_reported() -> None:
    found = decide(tune_spec(8), node(8, memory=8e9))
    assert found.at_once == 8 and "no memory reserved" in found.memory and "memory guard" in found.memory
    spec = tune_spec(8)
    spec["config"]["resourcesPerWorker"]["memoryGb"] = 3
    found = decide(spec, node(8, memory=8e9))
    assert (found.at_once, found.limit) == (2, "capacity")  # 8 GB hold two trials of 3 GB, whatever the CPUs
    assert "reserves 3 GB" in found.memory


def test_an_autoscaling_cluster_runs_every_trial_or_the_cap() -> None:
    status = target.status_of([node(1)], {"version": "declared", "nodeTypes": [], "source": "spec"})
    loaded = loader.load(tune_spec(6, cpu=2))
    found = shape.decide(plans.tune(loaded), status)
    assert found.fits and (found.at_once, found.limit) == (6, "autoscaler")
    assert any("autoscales" in note for note in found.notes)


def test_the_k8s_target_is_the_worker_group_raydt_k8s_writes() -> None:
    loaded = loader.load(tune_spec(8, at_once=2, cpu=2))
    where = target.kubernetes(plans.tune(loaded))
    assert where.kind == "k8s" and where.status["numNodes"] == 3  # the head (no worker) and two pods
    found = shape.decide(plans.tune(loaded), where.status)
    assert found.fits and found.at_once == 2 and found.capacity == 2


def test_the_embedded_target_reads_ray_init() -> None:
    loaded = loader.load(tune_spec(4, rayInit={"num_cpus": 3, "num_gpus": 0}))
    where = target.embedded(plans.tune(loaded).train)
    assert where.kind == "embedded" and where.status["totalCpu"] == 3.0 and where.status["totalGpu"] == 0.0
    assert where.info()["memoryBytes"] > 0


def test_waves_and_the_estimate() -> None:
    assert [measure.waves(n, 2) for n in (1, 2, 3, 4, 5)] == [1, 1, 2, 2, 3]
    m = measure.Measured(per_iteration_s=1.0, trial_startup_s=0.5, iterations=2, startup_s=8.0)
    figures = measure.estimate(m, trials=4, at_once=2, iterations=4)
    assert figures["waves"] == 2
    assert figures["wallTimeS"] == figures["highS"] == pytest.approx(8 + 2 * (0.5 + 4))
    assert figures["lowS"] == pytest.approx(8 + 0.5 + 2 * 4)
    assert measure.estimate(m, 1, 1, None)["wallTimeS"] == pytest.approx(8 + 0.5 + 2)  # as measured


def write_trial(folder: Path, name: str, steps: list[float]) -> None:
    (folder / name).mkdir(parents=True)
    rows = [{"training_iteration": i + 1, "time_this_iter_s": s} for i, s in enumerate(steps)]
    (folder / name / "result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_measured_from_a_searchs_folder_and_its_ran_event(tmp_path: Path) -> None:
    write_trial(tmp_path, "trial_a_00000_0_lr=1", [1.5, 1.0, 1.0, 1.0])
    write_trial(tmp_path, "trial_b_00001_1_lr=2", [1.5, 1.0, 1.0, 1.0])
    m = measure.from_folder(tmp_path)
    assert m is not None and (m.per_iteration_s, m.trial_startup_s, m.iterations) == (1.0, 0.5, 4)
    assert m.startup_s is None  # no run recorded its wall time there
    ran = {"event": "ran", "wallTimeS": 19.0, "numTrials": 2, "trialsAtOnce": 1}
    (tmp_path / "raydt_trials.jsonl").write_text(json.dumps(ran) + "\n")
    m = measure.from_folder(tmp_path)
    assert m is not None and m.startup_s == pytest.approx(19 - 2 * (0.5 + 4))
    assert measure.from_folder(tmp_path / "nothing") is None


def test_measured_from_a_train_runs_ledger(tmp_path: Path) -> None:
    events = [{"event": "start", "time": 100.0}, *({"event": "report", "time": 100.0 + t} for t in (3, 5, 7))]
    (tmp_path / "raydt_train.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    m = measure.from_folder(tmp_path, wall_s=20.0)
    assert m is not None and (m.per_iteration_s, m.trial_startup_s, m.iterations) == (2.0, 1.0, 3)
    assert m.startup_s == pytest.approx(20 - (1 + 3 * 2))


def test_cost_per_node_and_per_resource() -> None:
    reserved = {"CPU": 4.0, "GPU": 2.0}
    assert per_hour(Prices(node=3.0), 2, reserved) == 6.0
    assert per_hour(Prices(cpu=0.5, gpu=2.0), 2, reserved) == 0.5 * 4 + 2.0 * 2
    doc = cost(Prices(cpu=0.5), 1, reserved, 1800.0, spent=True)
    assert doc["perHour"] == 2.0 and doc["spent"] == 1.0 and doc["billed"] == {"cpu": 4.0}
    assert doc["unit"] == "units of config.costPerHour" and doc["basis"] == "measured wall time x reserved resources"
    assert "estimated" in cost(Prices(node=1.0), 1, reserved, 60.0, spent=False)


@pytest.mark.parametrize(
    ("given", "path", "rule"),
    [
        (-1, "config.costPerHour", ">= 0"),
        ({"cpu": -0.5}, "config.costPerHour.cpu", ">= 0"),
        ({}, "config.costPerHour", "must give a price"),
        ({"node": 1, "gpu": 2}, "config.costPerHour", "cannot be combined"),
        ({"tpu": 1}, "config.costPerHour.tpu", "unknown key"),
        ("3", "config.costPerHour", "number"),
    ],
)
def test_cost_per_hour_rules(given: Any, path: str, rule: str) -> None:
    with pytest.raises(SpecError) as caught:
        loader.load({"mode": "train", "config": {"costPerHour": given}})
    assert any(i.path == path and rule in i.rule for i in caught.value.issues), caught.value.issues


def test_cost_per_hour_forms() -> None:
    assert plans.train(loader.load({"mode": "train", "config": {"costPerHour": 2}})).prices == Prices(node=2.0)
    both = loader.load({"mode": "train", "config": {"costPerHour": {"cpu": 0.1, "gpu": 3}}})
    assert plans.train(both).prices == Prices(cpu=0.1, gpu=3.0)
    assert plans.train(loader.load({"mode": "train", "config": {}})).prices is None


def test_the_probe_spec_is_one_short_trial_with_absolute_paths(tmp_path: Path) -> None:
    spec = tune_spec(8, at_once=4)
    spec["trainConfig"]["trainerPath"] = "tune_functions.py:paced"  # relative to the spec file's folder
    spec["tuneConfig"]["searchSpace"] = {"opt": {"type": "grid", "values": ["a", "b"]}, **LR}
    spec["runConfig"] = {"name": "mine", "tracking": {"mlflow": {}}, "report": True}
    (tmp_path / "s.json").write_text(json.dumps(spec))
    (tmp_path / "tune_functions.py").write_text((FIXTURES / "tune_functions.py").read_text())
    cut = probe_spec(loader.load(tmp_path / "s.json"), "/tmp/x", epochs=4, address=None)
    assert cut["trainConfig"]["trainerPath"] == f"{tmp_path}/tune_functions.py:paced"
    assert cut["trainConfig"]["epochs"] == 2
    assert cut["tuneConfig"]["numSamples"] == 1 and cut["tuneConfig"]["maxConcurrentTrials"] == 1
    assert cut["tuneConfig"]["searchSpace"]["opt"]["values"] == ["a"]
    assert cut["runConfig"] == {"storagePath": "/tmp/x", "name": "raydt-plan-probe"}
    loader.load(cut)  # still a valid spec
