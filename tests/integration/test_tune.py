"""mode: tune on a real local Ray: the seed example, schedulers, searchers, distributed trials, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import raydt
from tests.conftest import ROOT, assert_seed_output, free_port, run_cli
from tests.notify_receiver import receiver

pytestmark = pytest.mark.slow

OBJECTIVE = f"{ROOT}/tests/fixtures/tune_functions.py:objective"


def tune_spec(tmp_path: Path, space: dict[str, Any], trainer: str | None = OBJECTIVE, **tc: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "tuneConfig": {"searchSpace": space, "metric": "score", "mode": "min", **tc},
        "runConfig": {"storagePath": str(tmp_path)},
    }
    if trainer:
        spec["trainConfig"] = {"trainerPath": trainer}
    return spec


def by_lr(out: dict[str, Any]) -> dict[float, dict[str, Any]]:
    return {t["config"]["lr"]: t for t in out["trials"]}


def test_seed_usage_example_on_cpu_via_cli(tmp_path: Path) -> None:
    seed = json.loads((ROOT / "examples/seed-tune.json").read_text())
    ctx = seed["skill"]["context"]
    ctx["tuneConfig"]["numSamples"] = 4
    ctx["trainConfig"]["epochs"] = 3
    ctx["runConfig"]["storagePath"] = str(tmp_path)
    (tmp_path / "seed.json").write_text(json.dumps(seed))
    res = run_cli("run", str(tmp_path / "seed.json"))
    out = res.out
    assert res.code == 0 and out["status"] == "success", out
    r = out["results"]
    assert (r["numTrials"], r["completedTrials"]) == (4, 4)
    assert (r["searchAlgorithm"], r["scheduler"]) == ("optuna", "asha")
    assert 1e-5 <= r["bestConfig"]["lr"] <= 1e-1 and r["bestConfig"]["batchSize"] in (16, 32, 64)
    assert r["bestMetric"] == min(t["bestMetric"] for t in out["trials"] if t["bestMetric"] is not None)
    assert r["bestMetrics"]["val_loss"] == r["bestMetric"]
    assert Path(out["checkpointPath"], "model.pt").is_file()
    assert "trial " in res.stderr  # live view of trials


def test_asha_stops_bad_trials_early(shared_ray: None, tmp_path: Path) -> None:
    """Also runConfig.notify on a real search: a loopback JSON webhook is told the first new best (the next
    ones fall inside the minute) and the end; a URL on a closed port is two warnings, the run still a success."""
    space = {"lr": {"type": "grid", "values": [0.01, 0.5, 0.9]}, "steps": 8}
    spec = tune_spec(
        tmp_path,
        space,
        scheduler="asha",
        maxConcurrentTrials=1,
        schedulerConfig={"maxT": 8, "gracePeriod": 1, "reductionFactor": 2},
    )
    events = ["finished", "failed", "newBest"]
    closed = f"json://127.0.0.1:{free_port()}/hook"
    with receiver() as hook:
        spec["runConfig"].update(name="asha-notify", notify=[{"url": hook.url, "on": events}, {"url": closed}])
        out = raydt.run(spec)
    assert_seed_output(out)
    assert out["status"] == "success", out
    trials = by_lr(out)
    assert trials[0.01]["iterations"] == 8 and not trials[0.01]["stoppedEarly"]
    assert trials[0.9]["stoppedEarly"] and trials[0.9]["iterations"] < 8
    assert out["results"]["completedTrials"] == 3  # stopped on purpose still counts as completed
    assert out["results"]["bestConfig"]["lr"] == 0.01
    assert out["results"]["searchAlgorithm"] == "random"  # grid values: Ray's variant generator
    assert [m["title"].split(" score=")[0] for m in hook.messages] == [
        "raydt: asha-notify new best",
        "raydt: asha-notify finished",
    ], hook.messages
    best, end = (m["message"] for m in hook.messages)
    assert "best score (min): " in best and '"lr": ' in best and "(trial " in best  # the first trial's first report
    assert f"best score (min): {out['results']['bestMetric']:.4g}" in end and out["checkpointPath"] in end
    warned = [w for w in out.get("warnings", []) if w.startswith("notify:")]
    shown = closed.rsplit("/", 1)[0]  # scheme and host only
    assert len(warned) == 1 and warned[0].startswith(f"notify: runConfig.notify[1] ({shown}): the 'finished' message")
    assert "Connection error" in warned[0], warned


def test_failing_trials_give_partial_with_exit_code_3(tmp_path: Path) -> None:
    spec = tune_spec(
        tmp_path,
        {"lr": {"type": "grid", "values": [0.01, 0.1, 0.001]}},
        trainer=f"{ROOT}/tests/fixtures/tune_functions.py:flaky",
    )
    (tmp_path / "s.json").write_text(json.dumps(spec))
    res = run_cli("run", str(tmp_path / "s.json"))
    assert res.code == 3
    out = res.out
    assert out["status"] == "partial"
    assert (out["results"]["numTrials"], out["results"]["completedTrials"], out["results"]["failedTrials"]) == (3, 2, 1)
    failed = by_lr(out)[0.1]
    assert failed["status"] == "ERROR" and failed["error"]["code"] == "USER_CODE_ERROR"
    assert "diverged at lr=0.1" in failed["error"]["message"]
    assert out["results"]["bestConfig"]["lr"] == 0.001


def test_two_worker_distributed_trials(shared_ray: None, tmp_path: Path) -> None:
    # 2 workers x 1 CPU on the 2 CPUs of the shared Ray: the trial's own process asks for no CPU beside them
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"epochs": 2},
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "grid", "values": [0.01, 0.003]}},
            "metric": "val_accuracy",
            "mode": "max",
        },
        "runConfig": {"storagePath": str(tmp_path)},
    }
    out = raydt.run(spec)
    assert out["status"] == "success", out
    assert out["numWorkers"] == 2 and out["results"]["numTrials"] == 2
    # ASHA (the default) may stop the worse trial after epoch 1: its workers' placement group is freed
    # and the next trial still gets its workers (no leak, no hang)
    assert all(t["status"] == "TERMINATED" and t["iterations"] >= 1 for t in out["trials"])
    assert by_lr(out)[out["results"]["bestConfig"]["lr"]]["iterations"] == 2
    assert out["results"]["bestMetric"] > 0.85
    assert Path(out["checkpointPath"], "model.pt").is_file()
    # every trial ran a real Ray Train worker group under the experiment
    runs = list((Path(out["experimentPath"]) / "train_runs").iterdir())
    assert len(runs) == 2


@pytest.mark.parametrize(
    ("extra", "searcher", "scheduler"),
    [
        # the pairings Ray wires differently (HyperBandForBOHB + TuneBOHB; PB2's GP over the bounds); every
        # pairing's objects are built in the fast tier (tests/unit/test_tune_algos.py), HyperBand runs in
        # test_tune_population.py
        ({"searchAlgorithm": "bohb"}, "bohb", "hyperband"),
        ({"scheduler": "pb2", "schedulerConfig": {"perturbationInterval": 2}}, "random", "pb2"),
    ],
)
def test_other_schedulers_and_searchers_run(
    shared_ray: None, tmp_path: Path, extra: dict[str, Any], searcher: str, scheduler: str
) -> None:
    space = {"lr": {"type": "uniform", "min": 0.001, "max": 0.5}, "steps": 4}
    out = raydt.run(tune_spec(tmp_path, space, numSamples=4, seed=1, **extra))
    assert out["status"] == "success", out
    assert (out["results"]["searchAlgorithm"], out["results"]["scheduler"]) == (searcher, scheduler)
    assert out["results"]["numTrials"] == 4
    assert out["results"]["bestMetric"] == min(t["bestMetric"] for t in out["trials"] if t["bestMetric"] is not None)


def test_stop_at_ends_the_whole_search(shared_ray: None, tmp_path: Path) -> None:
    space = {"lr": {"type": "loguniform", "min": 0.001, "max": 0.05}, "steps": 5}
    out = raydt.run(tune_spec(tmp_path, space, numSamples=8, maxConcurrentTrials=1, stopAt=0.6, seed=0))
    assert out["status"] == "success", out
    assert out["results"]["bestMetric"] <= 0.6
    assert out["results"]["numTrials"] < 8  # no new trials once the goal was reached


def test_xgboost_tune_callback_trainable_runs_unchanged(shared_ray: None, tmp_path: Path) -> None:
    space = {
        "max_depth": {"type": "randint", "min": 2, "max": 4},
        "eta": {"type": "loguniform", "min": 0.05, "max": 0.5},
    }
    spec = tune_spec(
        tmp_path,
        space,
        trainer=f"{ROOT}/tests/fixtures/tune_functions.py:xgb_with_tune_callback",
        numSamples=2,
        seed=0,
        scheduler="fifo",
    )
    spec["tuneConfig"]["metric"] = "eval-logloss"
    out = raydt.run(spec)
    assert out["status"] == "success", out
    assert [t["iterations"] for t in out["trials"]] == [5, 5], out["trials"]
    assert Path(out["checkpointPath"]).is_dir()


@pytest.mark.parametrize("trainer", ["file", "module"])
def test_reused_actors_keep_trials_isolated(shared_ray: None, tmp_path: Path, trainer: str) -> None:
    """Successive trials run in one process (actor reuse), yet none sees another's module state, env or RNG.
    Two at once: two actors share the trials, although each trial takes milliseconds and an actor's start-up a
    second or more (Tune alone would give the second trial the first actor and kill the second as it boots)."""
    path = f"{ROOT}/tests/fixtures/tune_functions.py" if trainer == "file" else "tests.fixtures.tune_functions"
    at_once = 1 if trainer == "file" else 2
    spec = tune_spec(
        tmp_path,
        {"x": {"type": "grid", "values": [1, 2, 3, 4, 5]}},
        trainer=f"{path}:leaky",
        maxConcurrentTrials=at_once,
    )
    out = raydt.run(spec)
    assert out["status"] == "success", out
    rows = [t["lastMetrics"] for t in out["trials"]]
    assert len(rows) == 5
    assert len({r["proc"] for r in rows}) == at_once  # reuse is on by default: one actor per trial at once
    assert all(r["seen"] == 1 and r["calls"] == 1 for r in rows), rows
    assert not any(r["envLeak"] for r in rows), rows
    assert len({r["draw"] for r in rows}) == 5  # each trial pinned the RNG, and the next one was reseeded


def test_reuse_can_be_turned_off(shared_ray: None, tmp_path: Path) -> None:
    spec = tune_spec(
        tmp_path,
        {"x": {"type": "grid", "values": [1, 2, 3]}},
        trainer=f"{ROOT}/tests/fixtures/tune_functions.py:leaky",
        maxConcurrentTrials=1,
        reuseActors=False,
    )
    out = raydt.run(spec)
    rows = [t["lastMetrics"] for t in out["trials"]]
    assert len({r["proc"] for r in rows}) == 3
