"""tune_results: a finished search (fake ResultGrid, raydt's trial ledger) -> the result, part by part."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from raydt import plan, results
from raydt.errors import MetricNotReportedError
from raydt.runners.tune import results as search_results
from raydt.runners.tune import results as tune_results
from raydt.runners.tune.results import ending, read_ledger, trial_row
from raydt.spec import loader


def summarize(p: plan.TunePlan, grid: Any, elapsed: float, goal_reached: bool = False) -> dict[str, Any]:
    """The search's result as it is printed (the runner's typed Document, dumped)."""
    return search_results.summarize(p, grid, elapsed, goal_reached).dump()


class Checkpoint:
    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = str(path)


class FakeResult:
    """What tune_results reads of a ray.tune.Result: metrics, metrics_dataframe, config, error, path,
    checkpoint, get_best_checkpoint."""

    def __init__(
        self,
        trial_id: str,
        history: list[dict[str, Any]],
        config: dict[str, Any] | None = None,
        error: BaseException | None = None,
        checkpoint: Checkpoint | None = None,
        best: Checkpoint | None = None,
        path: str | None = None,
    ) -> None:
        self.config = config if config is not None else {"lr": 0.01}
        auto = [
            {"trial_id": trial_id, "training_iteration": i + 1, "time_total_s": 0.1 * (i + 1)}
            for i in range(len(history))
        ]
        rows = [
            {**h, **a, **{f"config/{k}": v for k, v in self.config.items()}} for h, a in zip(history, auto, strict=True)
        ]
        self.metrics: dict[str, Any] = {**history[-1], **auto[-1]} if history else {}
        self.metrics_dataframe = pd.DataFrame(rows) if rows else None
        self.error = error
        self.path = path or f"/nowhere/{trial_id}"  # Ray's trial directory; its name stands in for a missing id
        self.checkpoint = checkpoint
        self._best = best

    def get_best_checkpoint(self, metric: str, mode: str) -> Checkpoint | None:
        if self._best is None:
            raise RuntimeError("no checkpoint scored by this metric")
        return self._best


class FakeGrid(list[FakeResult]):
    """A ResultGrid: iterable results; ``_experiment_analysis`` only for a search without a ledger."""

    def __init__(self, items: list[FakeResult], statuses: dict[str, str] | None = None) -> None:
        super().__init__(items)
        if statuses is not None:
            trials = [type("Trial", (), {"trial_id": t, "status": s})() for t, s in statuses.items()]
            self._experiment_analysis = type("Analysis", (), {"trials": trials})()


def tune_plan(tmp_path: Path, **tune: Any) -> plan.TunePlan:
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1},
        "trainConfig": {"epochs": 4},
        "runConfig": {"storagePath": str(tmp_path), "name": "exp"},
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "loguniform", "min": 1e-4, "max": 1e-1}},
            "numSamples": 2,
            **tune,
        },
    }
    return plan.tune(loader.load(spec))


def write_ledger(tmp_path: Path, *events: dict[str, Any] | str) -> None:
    exp = tmp_path / "exp"
    exp.mkdir(exist_ok=True)
    lines = [e if isinstance(e, str) else json.dumps(e) for e in events]
    (exp / tune_results.LEDGER_FILE).write_text("".join(line + "\n" for line in lines))


def losses(*values: float) -> list[dict[str, Any]]:
    return [{"val_loss": v, "val_accuracy": 1 - v, "epoch": i + 1} for i, v in enumerate(values)]


def done(*trials: str) -> list[dict[str, str]]:
    return [{"event": "complete", "trial": t} for t in trials]


def assert_valid(out: dict[str, Any]) -> None:
    assert results.problems(out) == []


# -- the ledger ---------------------------------------------------------------------------------------------


def test_read_ledger_keeps_endings_and_retries_and_skips_a_line_cut_off_by_a_crash(tmp_path: Path) -> None:
    write_ledger(
        tmp_path,
        {"event": "complete", "trial": "a"},
        {"event": "retry", "trial": "b", "code": "WORKER_DIED", "error": "ActorDiedError: gone"},
        {"event": "error", "trial": "b"},
        '{"event": "compl',
    )
    ledger = read_ledger(str(tmp_path / "exp"))
    assert ledger == {
        "ended": {"a": "complete", "b": "error"},
        "retries": {"b": [{"code": "WORKER_DIED", "error": "ActorDiedError: gone"}]},
    }


def test_no_ledger_file_is_none(tmp_path: Path) -> None:
    assert read_ledger(str(tmp_path / "exp")) is None


# -- ending -------------------------------------------------------------------------------------------------


def test_every_trial_ended_is_all_trials_done(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    write_ledger(tmp_path, *done("a", "b"))
    end = ending(p, FakeGrid([]), ["a", "b"], elapsed=5.0, goal_reached=False)
    assert end.reason == tune_results.ALL_TRIALS_DONE
    assert not end.cut("a") and not end.stopped_by_search


def test_a_trial_missing_from_the_ledger_was_cut_off(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    write_ledger(tmp_path, *done("a"))
    end = ending(p, FakeGrid([]), ["a", "b"], elapsed=5.0, goal_reached=False)
    assert end.reason == tune_results.INTERRUPTED and end.cut("b") and not end.cut("a")


def test_fewer_trials_than_samples_times_grid_points_is_interrupted(tmp_path: Path) -> None:
    grid = {"batchSize": {"type": "grid", "values": [16, 32, 64]}}
    p = tune_plan(tmp_path, searchSpace=grid, numSamples=1)
    assert tune_results.expected_trials(p) == 3
    write_ledger(tmp_path, *done("a", "b"))
    assert ending(p, FakeGrid([]), ["a", "b"], 5.0, False).reason == tune_results.INTERRUPTED
    write_ledger(tmp_path, *done("a", "b", "c"))
    assert ending(p, FakeGrid([]), ["a", "b", "c"], 5.0, False).reason == tune_results.ALL_TRIALS_DONE


def test_stop_at_and_time_budget_name_the_reason_and_count_as_stopped_by_the_search(tmp_path: Path) -> None:
    p = tune_plan(tmp_path, timeBudgetS=10)
    write_ledger(tmp_path, *done("a"))
    goal = ending(p, FakeGrid([]), ["a", "b"], 1.0, goal_reached=True)
    assert goal.reason == tune_results.GOAL_REACHED and goal.stopped_by_search
    budget = ending(p, FakeGrid([]), ["a", "b"], 9.6, goal_reached=False)  # 95 % of the budget counts
    assert budget.reason == tune_results.TIME_BUDGET and budget.stopped_by_search
    early = ending(p, FakeGrid([]), ["a", "b"], 9.0, goal_reached=False)
    assert early.reason == tune_results.INTERRUPTED and not early.stopped_by_search


def test_a_goal_recorded_in_the_ledger_ends_a_resumed_search_as_goal_reached(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)  # a resumed search cannot ask its restored stopper: the ledger says it
    write_ledger(tmp_path, *done("a"), {"event": "goal"})
    end = ending(p, FakeGrid([]), ["a", "b"], 1.0, goal_reached=False)
    assert end.reason == tune_results.GOAL_REACHED and end.stopped_by_search and not end.cut("a")


def test_without_a_ledger_tune_statuses_tell_which_trials_were_cut(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    grid = FakeGrid([], statuses={"a": "TERMINATED", "b": "RUNNING"})
    end = ending(p, grid, ["a", "b"], 5.0, False)
    assert end.ended is None and end.unfinished == {"b"}
    assert end.cut("b") and not end.cut("a") and end.reason == tune_results.INTERRUPTED


def test_retries_come_from_the_ledger(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    retry = {"event": "retry", "trial": "a", "code": "OUT_OF_MEMORY", "error": "MemoryError"}
    write_ledger(tmp_path, retry, *done("a", "b"))
    end = ending(p, FakeGrid([]), ["a", "b"], 5.0, False)
    assert end.retries == {"a": [{"code": "OUT_OF_MEMORY", "error": "MemoryError"}]}


# -- trial_row ----------------------------------------------------------------------------------------------


def _end(tmp_path: Path, p: plan.TunePlan, ended: list[str], ids: list[str], **kw: Any) -> tune_results.Ending:
    write_ledger(tmp_path, *done(*ended))
    return ending(p, FakeGrid([]), ids, kw.get("elapsed", 5.0), kw.get("goal", False))


def test_a_finished_trial_row_has_its_best_value_from_the_history(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    end = _end(tmp_path, p, ["a"], ["a"])
    result = FakeResult("a", losses(0.9, 0.2, 0.4, 0.3), config={"lr": 0.05})
    row, values, seen = trial_row(result, p, end)
    assert row["trialId"] == "a" and row["config"] == {"lr": 0.05} and row["status"] == "TERMINATED"
    assert row["iterations"] == 4 and row["bestMetric"] == 0.2  # min over the history, not the last value
    assert row["lastMetrics"] == {"val_loss": 0.3, "val_accuracy": 0.7, "epoch": 4}  # Tune's own keys left out
    assert row["stoppedEarly"] is False  # ASHA's max_t (epochs 4) reached
    assert values == [0.9, 0.2, 0.4, 0.3] and seen == {"val_loss", "val_accuracy", "epoch"}


def test_a_trial_asha_stopped_before_max_t_is_stopped_early(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    assert p.scheduler_options["max_t"] == 4
    row, _, _ = trial_row(FakeResult("a", losses(0.9)), p, _end(tmp_path, p, ["a"], ["a"]))
    assert row["status"] == "TERMINATED" and row["stoppedEarly"] is True


def test_fifo_has_no_max_t_so_no_stopped_early_key(tmp_path: Path) -> None:
    p = tune_plan(tmp_path, scheduler="fifo")
    row, _, _ = trial_row(FakeResult("a", losses(0.9)), p, _end(tmp_path, p, ["a"], ["a"]))
    assert "stoppedEarly" not in row


def test_a_trial_that_raised_has_the_error_of_the_users_exception(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    inner = ValueError("first line\nbad batch size 0")
    wrapper = RuntimeError("Traceback ...\n  File x\nRayTaskError(ValueError): bad batch size 0")
    wrapper.__cause__ = inner
    row, _, _ = trial_row(FakeResult("a", [], error=wrapper), p, _end(tmp_path, p, [], ["a"]))
    assert row["status"] == "ERROR" and row["bestMetric"] is None and row["iterations"] == 0
    assert row["error"]["code"] == "USER_CODE_ERROR"
    assert row["error"]["class"] == "ValueError" and row["error"]["message"] == "bad batch size 0"
    assert row["error"]["traceback"][-1] == "RayTaskError(ValueError): bad batch size 0"
    assert row["trialId"] == "a"  # no metrics: the id comes from the trial's directory name


def test_a_dead_worker_is_classified(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    row, _, _ = trial_row(
        FakeResult("a", [], error=RuntimeError("ActorDiedError: killed")), p, _end(tmp_path, p, [], ["a"])
    )
    assert row["error"]["code"] == "WORKER_DIED"


def test_a_metric_reported_only_as_nan_is_a_nan_metric_error(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    row, values, _ = trial_row(FakeResult("a", losses(float("nan"), float("nan"))), p, _end(tmp_path, p, ["a"], ["a"]))
    assert values == [] and row["status"] == "ERROR" and row["error"]["code"] == "NAN_METRIC"
    assert row["lastMetrics"]["val_loss"] is None  # NaN is null in JSON


def test_a_cut_trial_is_interrupted_unless_the_search_itself_stopped_it(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    cut = trial_row(FakeResult("b", losses(0.5)), p, _end(tmp_path, p, ["a"], ["a", "b"]))[0]
    assert cut["status"] == "INTERRUPTED" and "stoppedEarly" not in cut
    stopped = trial_row(FakeResult("b", losses(0.5)), p, _end(tmp_path, p, ["a"], ["a", "b"], goal=True))[0]
    assert stopped["status"] == "TERMINATED" and stopped["stoppedEarly"] is True


def test_without_a_metrics_dataframe_the_last_metrics_give_the_value(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    result = FakeResult("a", losses(0.4))
    result.metrics_dataframe = None
    row, values, _ = trial_row(result, p, _end(tmp_path, p, ["a"], ["a"]))
    assert values == [0.4] and row["bestMetric"] == 0.4


# -- summarize ----------------------------------------------------------------------------------------------


def test_a_search_that_ran_to_its_end_is_success_with_the_best_trial(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    write_ledger(tmp_path, *done("a", "b"))
    best = Checkpoint(tmp_path / "exp" / "b" / "checkpoint_000001")
    grid = FakeGrid(
        [
            FakeResult("a", losses(0.8, 0.6, 0.5, 0.45), config={"lr": 0.001}),
            FakeResult("b", losses(0.7, 0.1, 0.3, 0.2), config={"lr": 0.01}, best=best),
        ]
    )
    out = summarize(p, grid, elapsed=12.3456)
    assert out["status"] == results.SUCCESS and "warnings" not in out and "error" not in out
    r = out["results"]
    assert (r["numTrials"], r["completedTrials"], r["failedTrials"], r["interruptedTrials"]) == (2, 2, 0, 0)
    assert r["bestConfig"] == {"lr": 0.01} and r["bestMetric"] == 0.1 and r["bestTrialId"] == "b"
    assert r["bestMetrics"] == {"val_loss": 0.1, "val_accuracy": 0.9, "epoch": 2}  # the report of the best value
    assert r["bestTrialStatus"] == "TERMINATED" and r["endReason"] == "ALL_TRIALS_DONE"
    assert (r["metric"], r["metricMode"], r["searchAlgorithm"], r["scheduler"]) == ("val_loss", "min", "optuna", "asha")
    assert "retries" not in r
    assert out["checkpointPath"] == best.path and out["trainingTime"] == 12.346
    assert out["mode"] == "tune" and out["framework"] == "pytorch" and out["numWorkers"] == 1
    assert out["experimentPath"] == str(tmp_path / "exp") and [t["trialId"] for t in out["trials"]] == ["a", "b"]
    assert_valid(out)


def test_max_mode_picks_the_highest(tmp_path: Path) -> None:
    p = tune_plan(tmp_path, metric="val_accuracy", mode="max")
    write_ledger(tmp_path, *done("a", "b"))
    grid = FakeGrid([FakeResult("a", losses(0.5)), FakeResult("b", losses(0.3))])
    out = summarize(p, grid, 1.0)
    assert out["results"]["bestTrialId"] == "b" and out["results"]["bestMetric"] == 0.7
    assert_valid(out)


def test_a_failed_trial_makes_the_search_partial(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    write_ledger(tmp_path, *done("a"), {"event": "error", "trial": "b"})
    last = Checkpoint(tmp_path / "exp" / "a" / "checkpoint_000000")
    grid = FakeGrid([FakeResult("a", losses(0.5), checkpoint=last), FakeResult("b", [], error=ValueError("boom"))])
    out = summarize(p, grid, 1.0)
    assert out["status"] == results.PARTIAL and results.exit_code(out) == 3
    assert out["results"]["failedTrials"] == 1 and out["results"]["completedTrials"] == 1
    assert out["checkpointPath"] == last.path  # no checkpoint scored by the metric: the latest one
    assert_valid(out)


def test_a_best_trial_without_a_checkpoint_is_a_warning(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    write_ledger(tmp_path, *done("a", "b"))
    out = summarize(p, FakeGrid([FakeResult("a", losses(0.5)), FakeResult("b", losses(0.6))]), 1.0)
    assert "checkpointPath" not in out and out["warnings"] == ["the best trial saved no checkpoint"]
    assert_valid(out)


def test_every_trial_failing_is_an_error_naming_the_first_failure(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    write_ledger(tmp_path, {"event": "error", "trial": "a"}, {"event": "error", "trial": "b"})
    grid = FakeGrid([FakeResult("a", [], error=MemoryError("oom")), FakeResult("b", [], error=ValueError("x"))])
    out = summarize(p, grid, 1.0)
    assert out["status"] == results.ERROR and out["error"]["code"] == "OUT_OF_MEMORY"
    assert out["error"]["message"] == "all 2 trial(s) failed; first: MemoryError: oom"
    assert "bestMetric" not in out["results"] and "warnings" not in out
    assert_valid(out)


def test_a_metric_no_trial_reported_raises_with_what_was_reported(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    p = dataclasses.replace(p, train=dataclasses.replace(p.train, metric="val_los"))  # a user trainer's typo
    write_ledger(tmp_path, *done("a", "b"))
    with pytest.raises(MetricNotReportedError) as caught:
        summarize(p, FakeGrid([FakeResult("a", losses(0.5)), FakeResult("b", losses(0.4))]), 1.0)
    assert caught.value.details == {
        "experimentPath": str(tmp_path / "exp"),
        "reported": ["epoch", "val_accuracy", "val_loss"],
    }


def test_interrupted_before_any_result_is_an_error_with_the_resume_command(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    write_ledger(tmp_path)
    out = summarize(p, FakeGrid([FakeResult("a", [])]), 1.0)
    assert out["status"] == results.ERROR and out["interrupted"] is True
    assert out["error"]["code"] == "INTERRUPTED" and f"raydt resume {tmp_path / 'exp'}" in out["error"]["hint"]
    assert out["results"]["endReason"] == "INTERRUPTED" and "warnings" in out
    assert_valid(out)


def test_interrupted_with_a_best_value_from_a_cut_trial_is_partial_and_says_so(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    write_ledger(tmp_path, *done("a"))
    ckpt = Checkpoint(tmp_path / "exp" / "b" / "checkpoint_000000")
    grid = FakeGrid([FakeResult("a", losses(0.5)), FakeResult("b", losses(0.2), best=ckpt)])
    out = summarize(p, grid, 1.0)
    assert out["status"] == results.PARTIAL and out["interrupted"] is True
    assert out["results"]["bestTrialStatus"] == "INTERRUPTED" and out["results"]["interruptedTrials"] == 1
    assert (
        out["warnings"][0].startswith("interrupted: the search was stopped")
        and "1 trial(s) unfinished" in out["warnings"][0]
    )
    assert "cut off after 1 iteration(s)" in out["warnings"][1]
    assert_valid(out)


def test_retried_failures_are_listed_with_their_trial(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    retry = {"event": "retry", "trial": "b", "code": "WORKER_DIED", "error": "ActorDiedError"}
    write_ledger(tmp_path, retry, *done("a", "b"))
    out = summarize(p, FakeGrid([FakeResult("a", losses(0.5)), FakeResult("b", losses(0.6))]), 1.0)
    assert out["results"]["retries"] == [{"trialId": "b", "code": "WORKER_DIED", "error": "ActorDiedError"}]
    assert_valid(out)


# -- maxFailedTrials (issue 26 items 2 and 3) ---------------------------------------------------------------


def queued(trial_id: str) -> FakeResult:
    """A trial Tune created but never started: its last result holds only the id Tune fills in, no config."""
    result = FakeResult(trial_id, [])
    result.config, result.metrics = None, {"trial_id": trial_id}
    return result


def started_without_a_report(trial_id: str, config: dict[str, Any]) -> FakeResult:
    """A trial that ran but was cut off before its first report: Tune's auto-filled result only."""
    result = FakeResult(trial_id, [], config=config)
    result.metrics = {"trial_id": trial_id, "config": config, "pid": 1, "hostname": "h"}
    return result


def raised(trial_id: str, x: float) -> FakeResult:
    wrapper = RuntimeError(f"Traceback ...\nRayTaskError(ValueError): x={x} is too large")
    wrapper.__cause__ = ValueError(f"x={x} is too large")
    return FakeResult(trial_id, [], config={"x": x}, error=wrapper)


def test_max_failed_trials_after_some_finished_is_partial_with_never_started_trials_left_out(tmp_path: Path) -> None:
    """The repro: points x 0.1, 0.2 finish, 0.9 and 0.8 raise, maxFailedTrials 2 ends the search with 0.7 queued."""
    p = tune_plan(tmp_path, numSamples=8, maxFailedTrials=2, scheduler="fifo")
    write_ledger(tmp_path, *done("a", "b"), {"event": "error", "trial": "c"}, {"event": "error", "trial": "d"},
                 {"event": "maxFailed"})  # fmt: skip
    grid = FakeGrid(
        [
            FakeResult("a", losses(0.1), config={"x": 0.1}),
            FakeResult("b", losses(0.2), config={"x": 0.2}),
            raised("c", 0.9),
            raised("d", 0.8),
            queued("e"),
        ]
    )
    out = summarize(p, grid, 1.0)
    assert_valid(out)  # before: trials[4].config null, refused by the result model (INTERNAL)
    r = out["results"]
    assert out["status"] == results.PARTIAL and results.exit_code(out) == 3
    assert r["endReason"] == "MAX_FAILED_TRIALS" and r["bestTrialId"] == "a" and r["bestConfig"] == {"x": 0.1}
    assert (r["numTrials"], r["completedTrials"], r["failedTrials"], r["interruptedTrials"]) == (4, 2, 2, 0)
    assert r["notStartedTrials"] == 1 and [t["trialId"] for t in out["trials"]] == ["a", "b", "c", "d"]
    assert "1 queued trial(s) never started" in out["warnings"][0]


def test_max_failed_trials_before_any_report_reports_the_failures_not_a_metric_typo(tmp_path: Path) -> None:
    """x 0.9 and 0.8 raise first; 0.7 was cut off before reporting, 0.1 never started."""
    p = tune_plan(tmp_path, numSamples=10, maxFailedTrials=2, scheduler="fifo")
    write_ledger(tmp_path, {"event": "error", "trial": "c"}, {"event": "error", "trial": "d"}, {"event": "maxFailed"})
    grid = FakeGrid([raised("c", 0.9), raised("d", 0.8), started_without_a_report("f", {"x": 0.7}), queued("e")])
    out = summarize(p, grid, 1.0)  # before: MetricNotReportedError "trials reported: " and nothing
    assert_valid(out)
    r = out["results"]
    assert out["status"] == results.ERROR and results.exit_code(out) == 1
    assert out["error"]["code"] == "USER_CODE_ERROR"
    assert out["error"]["message"] == (
        "2 of 3 trial(s) failed and no trial reported 'val_loss' (the search ended at tuneConfig.maxFailedTrials: "
        "2); first: ValueError: x=0.9 is too large"
    )
    assert r["endReason"] == "MAX_FAILED_TRIALS" and r["notStartedTrials"] == 1
    assert (r["numTrials"], r["completedTrials"], r["failedTrials"], r["interruptedTrials"]) == (3, 1, 2, 0)
    assert [t["error"]["class"] for t in out["trials"] if t["status"] == "ERROR"] == ["ValueError", "ValueError"]


def test_a_failed_trial_without_a_config_in_its_results_takes_the_one_tune_wrote(tmp_path: Path) -> None:
    p = tune_plan(tmp_path)
    folder = tmp_path / "exp" / "trial_c"
    folder.mkdir(parents=True)
    (folder / "params.json").write_text(json.dumps({"x": 0.9}))
    result = raised("c", 0.9)
    result.config, result.metrics, result.path = None, {"trial_id": "c"}, str(folder)
    row, _, _ = trial_row(result, p, _end(tmp_path, p, [], ["c"]))
    assert row["config"] == {"x": 0.9} and row["status"] == "ERROR"
