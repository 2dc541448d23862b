"""Nodes drained for preemption (issue 31): ``runConfig.maxPreemptions`` from the spec to Ray Train's
``FailureConfig``, the controller's preemption events to the relay and ``results.retries`` (NODE_PREEMPTED), and the
loops' check at each epoch end (a fake ``get_preemption_info``; no Ray cluster). The real drain: the e2e test
``tests/integration/test_preemption.py``."""

from __future__ import annotations

import json
import queue
import re
from pathlib import Path
from typing import Any

import pytest

from raydt import plan, ray_config
from raydt.errors import NodePreemptedError
from raydt.frameworks.common import HOLD_MARGIN_S, HOLD_PAST_DEADLINE_S, RESERVED_KEY, Drain
from raydt.runners.train import Outcome, result
from raydt.spec import loader
from raydt.spec.schemas import input_schema
from tests.unit.helpers import issues_by_path
from tests.unit.test_runner_results import STATUS, checked, report

SRC = Path(__file__).resolve().parents[2] / "src" / "raydt"


def train_plan(tmp_path: Path, **run: Any) -> plan.TrainPlan:
    spec = {"mode": "train", "config": {}, "runConfig": {"storagePath": str(tmp_path), "name": "run", **run}}
    return plan.train(loader.load(spec))


# -- the spec key and Ray's FailureConfig ------------------------------------------------------------------------


def test_max_preemptions_defaults_to_no_limit_and_reaches_ray_trains_failure_config(tmp_path: Path) -> None:
    free, capped = train_plan(tmp_path), train_plan(tmp_path, maxPreemptions=3, maxFailures=0)
    assert (free.max_preemptions, capped.max_preemptions, capped.max_failures) == (None, 3, 0)
    unlimited = ray_config.train_run(free, [], {}).failure_config
    assert (unlimited.max_failures, unlimited.max_preemption_failures) == (2, -1)  # -1: Ray's "no limit"
    both = ray_config.train_run(capped, [], {}).failure_config
    assert (both.max_failures, both.max_preemption_failures) == (0, 3)  # two budgets, counted apart
    assert (
        ray_config.train_run(train_plan(tmp_path, maxPreemptions=0), [], {}).failure_config.max_preemption_failures == 0
    )


@pytest.mark.parametrize("bad", [-1, 1.5, "many", True])
def test_a_bad_max_preemptions_names_the_key_the_rule_and_the_value(bad: Any) -> None:
    found = issues_by_path({"mode": "train", "config": {}, "runConfig": {"maxPreemptions": bad}})
    assert list(found) == ["runConfig.maxPreemptions"]
    assert str(bad) in found["runConfig.maxPreemptions"]


def test_the_schema_lists_max_preemptions_beside_max_failures() -> None:
    text = json.dumps(input_schema())
    assert re.search(r'"maxFailures": \{[^}]*\}, "maxPreemptions": \{', text), "listed beside maxFailures"
    assert "NODE_PREEMPTED" in text


# -- results.retries ----------------------------------------------------------------------------------------------


def test_a_preemption_is_a_node_preempted_retry_not_a_failure(tmp_path: Path) -> None:
    p = train_plan(tmp_path, maxFailures=0)
    history = [report(tmp_path, 0.5, 1), report(tmp_path, 0.4, 2)]
    died = {"event": "worker_error", "errors": {"0": "ActorDiedError: gone"}, "time": 10.0}
    drained = {
        "event": "preempted",
        "error": "PreemptionError: Training was interrupted by node preemption (preempted_ranks=[1], ...)",
        "nodes": ["6b26bd0c4ac5211d5341bf94"],
        "ranks": [1],
        "time": 5.0,
    }
    out = checked(result(p, Outcome(history, [died], p.experiment_path, 1.0, None, preemptions=[drained]), STATUS))
    retries = out["results"]["retries"]
    assert [r["code"] for r in retries] == ["NODE_PREEMPTED", "WORKER_DIED"]  # in the order they happened
    assert retries[0]["error"].startswith("node(s) 6b26bd0c4ac5, rank(s) [1]: PreemptionError")
    assert (out["workerFailures"], out["restarts"]) == (1, 2)  # a preemption is a restart, not a worker failure
    only = checked(result(p, Outcome(history, [], p.experiment_path, 1.0, None, preemptions=[drained]), STATUS))
    assert [r["code"] for r in only["results"]["retries"]] == ["NODE_PREEMPTED"] and only["workerFailures"] == 0


# -- the controller's events, relayed -----------------------------------------------------------------------------


class View:
    def __init__(self) -> None:
        self.events: list[str] = []

    def event(self, text: str) -> None:
        self.events.append(text)

    def report(self, *_: Any) -> None:
        pass


def test_the_relay_keeps_preemption_restarts_apart_and_writes_lost_workers_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ray")
    from raydt.progress import relay as relay_module

    monkeypatch.setattr(relay_module, "local_queue", queue.Queue)  # no Ray: the driver thread reads a plain queue
    view = View()
    relay = relay_module.Relay(view, str(tmp_path / "exp"))  # type: ignore[arg-type]
    lost = {"event": "worker_error", "errors": {1: "ActorDiedError: node drained"}, "preempted": True, "time": 2.0}
    notice = {"event": "preemption_notice", "ranks": [1], "nodes": ["n1"], "deadlineMs": None, "time": 1.0}
    restart = {"event": "preempted", "ranks": [1], "nodes": ["n1"], "error": "PreemptionError: ...", "time": 3.0}
    for item in (notice, lost, dict(lost), restart):  # Ray Train polls the drained group: the same loss twice
        relay._take(item)
    relay.close()
    assert (relay.worker_errors, relay.preemptions) == ([], [restart])
    assert "node drained for preemption (worker rank(s) 1)" in view.events[0] and "restarting" in view.events[1]
    rows = [json.loads(line) for line in (tmp_path / "exp").glob("*.json*").__next__().read_text().splitlines()]
    assert [r["event"] for r in rows] == ["start", "preemption_notice", "worker_error", "preempted"]


def test_a_worker_lost_with_its_drained_node_is_flagged_for_the_relay() -> None:
    pytest.importorskip("ray")
    from ray.exceptions import RayActorError
    from ray.train.v2._internal.exceptions import WorkerHealthCheckFailedError

    from raydt.progress.relay import RelayCallback

    class Target:
        def __init__(self) -> None:
            self.items: list[dict[str, Any]] = []

        def put(self, item: dict[str, Any], timeout: float) -> None:
            self.items.append(item)

    target = Target()
    callback = RelayCallback(target)  # type: ignore[arg-type]
    lost = WorkerHealthCheckFailedError("A worker health check failed.", RayActorError(preempted=True))
    callback.after_exception(None, {1: lost, 0: RuntimeError("collective aborted")})  # what Ray Train hands over
    callback.after_exception(None, {0: WorkerHealthCheckFailedError("A worker health check failed.", RayActorError())})
    assert [item.get("preempted", False) for item in target.items] == [True, False]


def test_controller_states_become_one_notice_and_one_preemption_retry() -> None:
    pytest.importorskip("ray")
    from ray.train import PreemptionError, PreemptionInfo, WorkerGroupError
    from ray.train.v2._internal.execution.controller.state import (
        ErroredState,
        PreemptingState,
        RestartingState,
        RunningState,
    )

    from raydt.ray_compat.train import PreemptionEvents, is_preemption

    info = PreemptionInfo(deadline_ms=1_000, preempted_node_to_ranks={"n1": [1]})
    sent: list[dict[str, Any]] = []
    events = PreemptionEvents(sent.append)
    preempting = PreemptingState(preemption_info=info, detected_at_s=0.0)
    error = PreemptionError(preemption_info=info, drain_timed_out=True)
    for before, after in [
        (RunningState(), RunningState()),
        (RunningState(), preempting),
        (preempting, PreemptingState(preemption_info=info, detected_at_s=0.0)),  # each poll while it drains
        (preempting, RestartingState(training_failed_error=error)),
        (RunningState(), RestartingState(training_failed_error=WorkerGroupError("x", {0: ValueError("bug")}))),
        (preempting, ErroredState(training_failed_error=error)),  # maxPreemptions spent: the run's error says so
    ]:
        events.after_controller_state_update(before, after)
    assert [(e["event"], e["ranks"], e["deadlineMs"]) for e in sent] == [
        ("preemption_notice", [1], 1_000),
        ("preempted", [1], 1_000),
    ]
    assert sent[1]["error"].startswith("PreemptionError: Training was interrupted by node preemption")
    assert is_preemption(error) and not is_preemption(WorkerGroupError("x", {0: ValueError("bug")}))
    broken = PreemptionEvents(lambda item: (_ for _ in ()).throw(RuntimeError("queue gone")))
    broken.after_controller_state_update(RunningState(), preempting)  # never raises: it would fail the run


def test_spent_max_preemptions_is_a_node_preempted_error(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from ray.train import PreemptionError, PreemptionInfo

    from raydt.runners.train import classify

    error = PreemptionError(PreemptionInfo(deadline_ms=None, preempted_node_to_ranks={"n1": [1]}), True)
    err = classify(error, [], train_plan(tmp_path, maxPreemptions=1))
    assert isinstance(err, NodePreemptedError) and err.code == "NODE_PREEMPTED"
    assert "runConfig.maxPreemptions (1)" in str(err) and "maxPreemptions" in err.hint


# -- the loops' check at each epoch end ---------------------------------------------------------------------------


class Clock:
    """A fake clock: ``sleep`` moves it on."""

    def __init__(self) -> None:
        self.now, self.slept = 1000.0, 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def test_drain_says_whether_a_node_is_drained_and_holds_only_near_its_deadline() -> None:
    clock = Clock()
    deadline = clock.now + 10.0 + 2 * 10.0 + HOLD_MARGIN_S + 1
    info = type("Info", (), {"deadline_ms": deadline * 1000})()
    answers: list[Any] = [None, info]
    drain = Drain(lambda: answers.pop(0), clock, clock.sleep)
    assert not drain() and not drain.hold()  # no drain: no wait
    clock.now += 10.0  # an epoch takes 10 s
    assert drain() is True and (drain.epoch_s, drain.deadline_s) == (10.0, deadline)  # the drain is on
    assert not drain.hold() and clock.slept == 0  # two epochs and the margin still fit before the deadline
    clock.now += 2.0
    assert drain.hold() and clock.now == deadline + HOLD_PAST_DEADLINE_S  # Ray Train never stopped us: train on
    no_deadline = Drain(lambda: type("Info", (), {"deadline_ms": None})(), clock, clock.sleep)
    assert no_deadline() and no_deadline() and not no_deadline.hold()  # no deadline known (Ray waits 120 s): no wait


def test_every_loop_holds_before_an_epoch_and_asks_on_every_rank_before_it_decides_to_checkpoint() -> None:
    loops = [
        "frameworks/pytorch/trainer.py",
        "frameworks/pytorch/user/loop.py",
        "frameworks/lightning/user/report.py",
        "frameworks/transformers/trainer.py",
        "frameworks/tensorflow/trainer.py",
    ]
    for name in loops:
        source = (SRC / name).read_text()
        assert re.search(
            r"(for epoch in range\(.*|def on_train_epoch_start\(.*)\n\s+(self\.)?preempting\.hold\(\)", source
        ), name
        asks = [m.start() for m in re.finditer(r"preempting\(\)", source)]
        decides = [m.start() for m in re.finditer(r"\bdue\(epoch|\bdue\(done", source)]
        assert len(asks) == 1 and len(decides) == 1, name  # once per epoch, never behind a rank test or an `and`
        before = source[: asks[0]].split("\n")
        line = (before[-1] + source[asks[0] :].split("\n", 1)[0]).split("#")[0]
        assert "rank" not in line and " and " not in line, (name, line)
        indent = len(line) - len(line.lstrip())
        block = next(ln for ln in reversed(before[:-1]) if ln.strip() and len(ln) - len(ln.lstrip()) < indent)
        assert block.lstrip().startswith(("for ", "with ", "def ")), (name, block)  # not under an `if`
        assert asks[0] < decides[0], name


def test_the_builtin_loop_checkpoints_each_epoch_a_drain_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    ray_train = pytest.importorskip("ray.train")
    from ray.train.v2._internal.execution.train_fn_utils import LocalTrainFnUtils, set_train_fn_utils

    from raydt.frameworks.pytorch.trainer import train_loop

    class Recorder(LocalTrainFnUtils):  # type: ignore[misc]
        """Ray Train's local mode (one worker, no cluster), keeping every report."""

        def __init__(self) -> None:
            super().__init__(experiment_name="preempted")
            self.reports: list[tuple[int, bool]] = []

        def report(self, metrics: dict[str, Any], checkpoint: Any = None, **_: Any) -> None:
            self.reports.append((int(metrics["epoch"]), checkpoint is not None))

    asked: list[int] = []

    def drain_at_epochs_2_and_3() -> object | None:  # the notice comes, then Ray Train restarts the workers
        asked.append(1)
        return object() if len(asked) in (2, 3) else None

    monkeypatch.setattr(ray_train, "get_preemption_info", drain_at_epochs_2_and_3)
    recorder = Recorder()
    set_train_fn_utils(recorder)
    try:
        train_loop({"epochs": 4, "hiddenSize": 8, RESERVED_KEY: {"checkpointFrequency": 10}})
    finally:
        set_train_fn_utils(None)
    assert len(asked) == 4  # once per epoch
    assert recorder.reports == [(1, False), (2, True), (3, True), (4, True)]  # 4: the last epoch, as always


@pytest.mark.parametrize(("preempted", "code"), [(True, "NODE_PREEMPTED"), (False, "WORKER_DIED")])
def test_a_trial_lost_with_its_drained_node_is_listed_as_preempted(tmp_path: Path, preempted: bool, code: str) -> None:
    """Tune retries a trial whose process went with a node drained for preemption without counting it against
    maxFailuresPerTrial; the search's ledger (results.retries) says NODE_PREEMPTED, not WORKER_DIED."""
    from types import SimpleNamespace

    from ray import cloudpickle
    from ray.exceptions import ActorDiedError

    from raydt.experiment import ledger
    from raydt.runners.tune.watch import TrialLedger

    error = ActorDiedError()
    error._preempted = preempted
    pickled = tmp_path / "error.pkl"
    pickled.write_bytes(cloudpickle.dumps(error))
    trial = SimpleNamespace(trial_id="t1", pickled_error_file=str(pickled), last_result={})
    TrialLedger(str(tmp_path)).on_trial_recover(0, [], trial)
    assert [r["code"] for r in (ledger.read_ledger(str(tmp_path)) or {})["retries"]["t1"]] == [code]


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
def test_a_boosting_run_checkpoints_every_round_from_the_drain_notice(tmp_path: Path, framework: str) -> None:
    """XGBoost and LightGBM report through Ray's callbacks: raydt's callback asks every DRAIN_EVERY rounds and, from
    the first answer that a node is drained, saves every round (checkpoint.frequency 1000 saves none before)."""
    import importlib

    import numpy as np
    import ray.train

    from raydt.ray_compat.solo import SoloBridge, SoloCheckpoints, solo_train_api
    from raydt.ray_compat.train import DRAIN_EVERY, report_callback_with_files

    asked: list[int] = []

    def drained() -> bool:
        asked.append(len(asked))
        return len(asked) >= 2  # the notice arrives between the first and the second question

    lib = importlib.import_module(framework)
    callback_cls = importlib.import_module(f"ray.train.{framework}").RayTrainReportCallback
    callback = report_callback_with_files(callback_cls, lambda path: None, drained, frequency=1000)
    x = np.random.default_rng(0).normal(size=(200, 4))
    y = (x[:, 0] > 0).astype(int)
    sent: list[dict[str, Any]] = []
    checkpoints = SoloCheckpoints(str(tmp_path / "results"), "run", ray.train.CheckpointConfig())
    with solo_train_api(SoloBridge("run", checkpoints, sent.append, None)):
        if framework == "xgboost":
            data = lib.DMatrix(x, label=y)
            lib.train({"objective": "binary:logistic"}, data, 30, evals=[(data, "train")], callbacks=[callback])
        else:
            data = lib.Dataset(x, label=y)
            params = {"objective": "binary", "verbose": -1}
            lib.train(params, data, 30, valid_sets=[data], valid_names=["train"], callbacks=[callback])
    saved = [i + 1 for i, s in enumerate(sent) if s["checkpoint"]]
    assert len(asked) == 2  # asked at rounds 10 and 20, then no more: every round is saved anyway
    assert saved == list(range(2 * DRAIN_EVERY, 31)), saved
