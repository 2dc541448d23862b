"""serveConfig.models at run time, without Ray: an ensemble's combine rule, the route table the routers follow, the
request files of `raydt serve update`, the models' resources against the cluster, and serve_update's usage errors."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from raydt import api
from raydt.errors import InfeasibleResourcesError
from raydt.preflight import admit_models
from raydt.serving import control, routes
from raydt.serving.combine import combine
from raydt.serving.routes import RouteTable
from tests.conftest import assert_seed_output

# --- combine


def member(label: str, *probabilities: list[float]) -> dict[str, Any]:
    return {"classes": ["a", "b"], "probabilities": list(probabilities), "predictions": [label] * len(probabilities)}


def test_mean_averages_the_probabilities_and_labels_by_the_classes() -> None:
    out = combine([member("a", [0.6, 0.4]), member("b", [0.2, 0.8])], "mean", probabilities=True)
    assert out == {"predictions": ["b"], "probabilities": [[0.4, 0.6]]}
    assert "probabilities" not in combine([member("a", [0.6, 0.4])], "mean", probabilities=False)


def test_vote_takes_the_majority_where_the_mean_would_differ() -> None:
    bodies = [member("a", [0.51, 0.49]), member("a", [0.51, 0.49]), member("b", [0.0, 1.0])]
    assert combine(bodies, "mean", False)["predictions"] == ["b"]
    assert combine(bodies, "vote", False) == {"predictions": ["a"]}


def test_a_tied_vote_goes_to_the_higher_mean_probability() -> None:
    bodies = [member("a", [0.55, 0.45]), member("b", [0.1, 0.9])]  # the first-ranked member says a
    assert combine(bodies, "vote", False)["predictions"] == ["b"]
    bodies = [member("b", [0.45, 0.55]), member("a", [0.9, 0.1])]
    assert combine(bodies, "vote", True) == {"predictions": ["a"], "probabilities": [[0.675, 0.325]]}


def test_a_user_predictors_numbers_are_averaged_and_its_labels_voted() -> None:
    assert combine([{"predictions": [1.0, 2]}, {"predictions": [3.0, 4.0]}], "mean", False) == {
        "predictions": [2.0, 3.0]
    }
    rows = [{"predictions": ["x", "y"]}, {"predictions": ["x", "z"]}, {"predictions": ["w", "z"]}]
    assert combine(rows, "vote", False) == {"predictions": ["x", "z"]}
    assert combine(rows[:2], "vote", False) == {"predictions": ["x", "y"]}  # a tie: the better-ranked member's
    with pytest.raises(ValueError, match="use combine 'vote'"):
        combine(rows, "mean", False)
    with pytest.raises(ValueError):
        combine([{"predictions": [True]}, {"predictions": [False]}], "mean", False)


# --- the route table


def test_publish_bumps_the_version_and_a_replica_behind_is_answered_at_once() -> None:
    async def scenario() -> None:
        table = RouteTable()
        assert await table.publish({"m": {"app": "raydt-model-m-g1"}}) == 1
        assert await table.publish({"m": {"app": "raydt-model-m-g2"}}) == 2
        started = time.monotonic()
        version, found = await table.follow("r1", 1, wait_s=5.0)
        assert (version, found) == (2, {"m": {"app": "raydt-model-m-g2"}})
        assert time.monotonic() - started < 1.0

    asyncio.run(scenario())


def test_a_current_replica_waits_until_the_table_changes_or_its_wait_ends() -> None:
    async def scenario() -> None:
        table = RouteTable()
        await table.publish({"m": 1})
        started = time.monotonic()
        assert await table.follow("r1", 1, wait_s=0.3) == (1, {"m": 1})
        assert 0.25 <= time.monotonic() - started < 2.0

        async def later() -> None:
            await asyncio.sleep(0.1)
            await table.publish({"m": 2})

        started = time.monotonic()
        poll = asyncio.ensure_future(table.follow("r1", 1, wait_s=5.0))
        await later()
        assert await poll == (2, {"m": 2})
        assert time.monotonic() - started < 2.0

    asyncio.run(scenario())


def test_applied_everywhere_counts_only_live_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(routes, "time", SimpleNamespace(monotonic=lambda: clock[0]))  # routes' clock only
    live = routes.LIVE_S

    async def scenario() -> None:
        table = RouteTable()
        assert not table.applied_everywhere(0)  # no router replica yet
        await table.follow("r1", 0, wait_s=0.01)
        await table.follow("r2", 0, wait_s=0.01)
        version = await table.publish({"m": 2})
        assert not table.applied_everywhere(version)
        clock[0] = 1000 + live / 2
        await table.follow("r1", version, wait_s=0.01)
        assert not table.applied_everywhere(version)  # r2 still lives and applies 0
        assert table.applied_everywhere(0)
        clock[0] = 1000 + live + 0.5  # r2 last polled more than LIVE_S ago: gone; r1 lives
        assert table.applied_everywhere(version)
        await table.follow("r3", 0, wait_s=0.01)  # a replica that started behind
        assert not table.applied_everywhere(version)
        clock[0] += live + 0.5  # every replica gone
        assert not table.applied_everywhere(0)

    asyncio.run(scenario())


# --- control files


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RAYDT_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_a_request_is_taken_and_answered(state_dir: Path) -> None:
    replies: list[dict[str, Any] | None] = []
    asker = threading.Thread(target=lambda: replies.append(control.ask(18201, {"model": "m"}, timeout=10)))
    asker.start()
    deadline = time.monotonic() + 5
    taken: list[tuple[str, dict[str, Any]]] = []
    while not taken and time.monotonic() < deadline:
        taken = control.pending(18201)
        time.sleep(0.02)
    assert [doc for _, doc in taken] == [{"model": "m"}]
    assert not list((state_dir / "serve").glob("*.request-*.json"))  # taken: gone
    assert control.pending(18201) == [] and control.pending(18202) == []
    control.answer(18201, taken[0][0], {"status": "success", "generation": 2})
    asker.join(timeout=5)
    assert replies == [{"status": "success", "generation": 2}]
    assert not list((state_dir / "serve").iterdir())  # the reply file is removed once read


def test_an_unanswered_request_times_out_and_is_withdrawn(state_dir: Path) -> None:
    started = time.monotonic()
    assert control.ask(18203, {"model": "m"}, timeout=0.3) is None
    assert time.monotonic() - started < 2.0
    assert not list((state_dir / "serve").glob("*"))
    assert control.pending(18203) == []


def test_pending_takes_the_oldest_first_and_survives_a_withdrawn_request(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    folder = state_dir / "serve"
    folder.mkdir(parents=True)
    for key, age in (("new", 10), ("old", 20)):
        (folder / f"18204.request-{key}.json").write_text(json.dumps({"key": key}))
        os.utime(folder / f"18204.request-{key}.json", (time.time() - age, time.time() - age))
    (folder / "18205.request-other.json").write_text("{}")  # another run's
    real = sorted(folder.glob("18204.request-*.json"))
    gone = folder / "18204.request-gone.json"  # listed, then withdrawn by its ask() before it was read
    monkeypatch.setattr(control, "directory", lambda: SimpleNamespace(glob=lambda pattern: iter([*real, gone])))
    assert control.pending(18204) == [("old", {"key": "old"}), ("new", {"key": "new"})]
    assert sorted(p.name for p in folder.iterdir()) == ["18205.request-other.json"]


# --- preflight


def status(*nodes: tuple[float, float], autoscaler: dict[str, Any] | None = None) -> dict[str, Any]:
    rows = [{"cpu": c, "gpu": g, "customResources": {}} for c, g in nodes]
    out = {"nodes": rows, "totalCpu": sum(c for c, _ in nodes), "totalGpu": sum(g for _, g in nodes)}
    return {**out, "autoscaler": autoscaler} if autoscaler else out


def test_models_that_fit_are_admitted() -> None:
    models = [("a", 2, {"CPU": 1.0, "GPU": 0.0}), ("b", 3, {"CPU": 0.5, "GPU": 0.0}), ("g", 1, {"CPU": 1.0, "GPU": 1})]
    assert admit_models(models, status((4, 0), (1, 1))) is None  # 4.5 of 5 CPUs, 1 of 1 GPU


def test_a_replica_larger_than_every_node_is_refused_by_name() -> None:
    with pytest.raises(InfeasibleResourcesError) as info:
        admit_models([("small", 1, {"CPU": 1.0}), ("big", 1, {"CPU": 6.0})], status((4, 0), (4, 0)))
    assert "model 'big'" in info.value.message and "largest node has 4" in info.value.message
    assert "serveConfig.models[big].resourcesPerReplica.cpu" in info.value.hint
    with pytest.raises(InfeasibleResourcesError, match="model 'g' needs 1 GPU"):
        admit_models([("g", 1, {"CPU": 1.0, "GPU": 1.0})], status((4, 0)))


def test_the_replicas_must_fit_on_the_cluster_together() -> None:
    models = [("a", 3, {"CPU": 1.0}), ("b", 2, {"CPU": 1.5})]  # 6 CPUs, each replica fits a node
    with pytest.raises(InfeasibleResourcesError) as info:
        admit_models(models, status((2, 0), (2, 0)))
    assert "need 6 CPU in all" in info.value.message and "the cluster has 4" in info.value.message
    assert "a: 3 x" in info.value.message and "b: 2 x" in info.value.message
    assert admit_models(models, status((4, 0), (2, 0))) is None


def test_an_autoscaling_cluster_gets_a_warning_instead() -> None:
    scaler = {"nodeTypes": ["cpu-worker"]}
    warning = admit_models([("a", 3, {"CPU": 1.0}), ("b", 2, {"CPU": 1.5})], status((2, 0), autoscaler=scaler))
    assert warning is not None and "need 6 CPU in all" in warning and "autoscales" in warning
    big = admit_models([("big", 1, {"CPU": 8.0})], status((2, 0), autoscaler=scaler))
    assert big is not None and "model 'big'" in big


# --- raydt serve update


def update_error(out: dict[str, Any], code: int) -> str:
    assert_seed_output(out)
    assert code == 2 and out["status"] == "error" and out["error"]["code"] == "USAGE", out
    return str(out["error"]["message"])


def test_serve_update_usage_errors(state_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "ck").mkdir()
    ck = str(tmp_path / "ck")
    assert "needs --model NAME" in update_error(*api.serve_update(None, ck, None))
    assert "one of --checkpoint DIR and --experiment DIR" in update_error(*api.serve_update("m", ck, ck))
    assert "one of --checkpoint DIR and --experiment DIR" in update_error(*api.serve_update("m", None, None))
    assert "one of --checkpoint DIR" in update_error(*api.serve_update("m", "", None))  # not the current folder
    message = update_error(*api.serve_update("m", str(tmp_path / "none"), None))
    assert "--checkpoint must be an existing directory" in message and "none" in message
    assert "--experiment must be an existing directory" in update_error(*api.serve_update("m", None, "nope"))
    assert "no running serve run is recorded" in update_error(*api.serve_update("m", ck, None))
    assert "on port 18300" in update_error(*api.serve_update("m", None, ck, port=18300))


def test_serve_update_of_a_dead_run_is_refused(state_dir: Path, tmp_path: Path) -> None:
    (state_dir / "serve").mkdir(parents=True)
    record = {"pid": 2**22 + 12345, "port": 18301, "endpoint": "http://127.0.0.1:18301", "mode": "serve"}
    (state_dir / "serve" / "18301.state.json").write_text(json.dumps(record))
    message = update_error(*api.serve_update("m", str(tmp_path), None, timeout=0.2))
    assert "no running serve run" in message
    assert not list((state_dir / "serve").glob("*.request-*"))  # nothing asked of a dead run


def test_help_lists_the_update_action(capsys: pytest.CaptureFixture[str]) -> None:
    from raydt.cli import main

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "status | shutdown | update" in out and "raydt serve update --model" in out
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "{status,shutdown,update}" in out and "--variant" in out and "--experiment" in out
