"""A node drained for preemption mid-run (Ray's GCS drain API, as the autoscaler and KubeRay call it): the workers
checkpoint on the notice, Ray Train restarts them at the deadline, and the run succeeds without touching maxFailures;
also when the node goes a few seconds before its deadline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_seed_output
from tests.integration.conftest import run_helper

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # `make test-e2e` (docs/testing.md), not CI

EPOCHS = 30  # of about 1 s each (the helper sets Ray Train's report pace)


def helper_run(tmp_path: Path, deadline_s: int, kill_after_s: float, variant: str) -> dict[str, Any]:
    """What the helper saw of its drained run, checked as every such run must be: the drain call worked, the run
    succeeded (with maxFailures / maxFailuresPerTrial 0: the preemption did not use it), one NODE_PREEMPTED retry."""
    args = [str(tmp_path), str(EPOCHS), str(deadline_s), str(kill_after_s), *([variant] if variant else [])]
    _, out_text, err = run_helper("preemption_helper.py", args, timeout=420)
    lines = [ln for ln in out_text.splitlines() if ln.startswith('{"')]  # Ray's own lines come after it
    assert lines, err[-3000:]
    seen: dict[str, Any] = json.loads(lines[-1])
    assert seen.get("drainRc") == 0, seen.get("drainErr") or err[-3000:]
    out = seen["out"]
    assert out is not None, err[-3000:]
    assert_seed_output(out)
    assert out["status"] == "success", out
    retries = out["results"]["retries"]
    assert [r["code"] for r in retries] == ["NODE_PREEMPTED"], retries
    return seen


def drained_run(
    tmp_path: Path, deadline_s: int, kill_after_s: float, solo: bool = False, variant: str = ""
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The helper's run with its worker node drained after epoch 3 and killed ``kill_after_s`` after the drain: the
    result, and the run's train ledger (reports, the notice, the restart), checked as every such run must be."""
    variant = variant or ("solo" if solo else "")
    seen = helper_run(tmp_path, deadline_s, kill_after_s, variant)
    out = seen["out"]
    assert (out["workerFailures"], out["restarts"]) == (0, 1)
    assert out["results"]["finalMetrics"]["epoch"] == EPOCHS
    rows = [json.loads(ln) for ln in (Path(out["experimentPath"]) / "raydt_train.jsonl").read_text().splitlines()]
    kinds = [r.get("event") for r in rows]
    assert kinds.count("preemption_notice") == 1 and kinds.count("preempted") == 1, kinds
    notice = rows[kinds.index("preemption_notice")]
    expected = {"solo": [[0]], "elastic": [[0], [1]]}.get(variant, [[1]])  # the rank(s) on the drained node
    assert notice["ranks"] in expected and notice["deadlineMs"], notice
    # checkpoint.frequency 1000: without the notice nothing would have been saved and epoch 1 would come again
    restart = kinds.index("preempted")
    before = [r for r in rows[:restart] if r.get("event") == "report"]
    after = [r["metrics"]["epoch"] for r in rows[restart:] if r.get("event") == "report"]
    epochs = [r["metrics"]["epoch"] for r in before] + after
    noticed_at = max(
        r["metrics"]["epoch"] for r in rows[: kinds.index("preemption_notice")] if r.get("event") == "report"
    )
    last_saved = max(r["metrics"]["epoch"] for r in before if r.get("checkpoint"))
    assert last_saved > noticed_at >= seen["drainedAfterEpoch"], epochs
    assert after[0] == last_saved + 1, epochs  # resumed from the checkpoint saved while the node drained
    assert not [e for e in after if e <= max(r["metrics"]["epoch"] for r in before)], epochs  # nothing trained twice
    assert sorted(set(epochs)) == list(range(1, EPOCHS + 1)), epochs
    return out, rows


def test_a_preempted_node_is_a_restart_from_the_notices_checkpoint_not_a_failure(tmp_path: Path) -> None:
    drained_run(tmp_path, deadline_s=10, kill_after_s=12)  # the node goes after its deadline, as spot nodes do


def test_a_node_that_goes_before_its_deadline_finds_the_workers_holding(tmp_path: Path) -> None:
    # 15 s of notice, gone after 11: the workers saved and stopped starting epochs (Drain.hold), so the survivor is
    # in no all-reduce when its peer vanishes; Ray Train sees a worker lost with its drained node, a preemption
    _, rows = drained_run(tmp_path, deadline_s=15, kill_after_s=11)
    lost = [r for r in rows if r.get("event") == "worker_error"]
    assert lost and all(r.get("preempted") for r in lost), lost


def test_a_one_worker_run_on_the_fast_path_restarts_elsewhere_from_the_notices_checkpoint(tmp_path: Path) -> None:
    """The fast path (one actor, no Ray Train controller): the actor's node is drained and goes after its deadline;
    the actor starts again on the other node from the checkpoint saved on the notice, against maxPreemptions."""
    drained_run(tmp_path, deadline_s=10, kill_after_s=12, solo=True)


def test_an_elastic_run_goes_on_with_the_workers_left_after_a_drain(tmp_path: Path) -> None:
    """Elastic (1 to 2 workers, one on each node): Ray Train 2.60 sizes the restart at the deadline by the resources it
    sees, the drained node's too, so its first group of 2 cannot be placed; after pendingTimeoutS (30 s here) it is
    sized again and the run goes on with the head's one worker, from the checkpoint saved on the notice."""
    drained_run(tmp_path, deadline_s=10, kill_after_s=12, variant="elastic")


def test_a_search_whose_trial_node_is_drained_retries_the_trial_from_the_notices_checkpoint(tmp_path: Path) -> None:
    """A 1-trial search (the loop inside the trial's process): the trial's node is drained and goes after its
    deadline; Tune retries the trial on the other node from the checkpoint saved on the notice without counting it
    against maxFailuresPerTrial 0, and the search lists the retry as NODE_PREEMPTED."""
    seen = helper_run(tmp_path, 10, 12, "search")
    assert seen["out"]["results"]["completedTrials"] == 1, seen["out"]
    epochs = seen["epochs"]
    assert seen["epochsAtKill"] < EPOCHS and sorted(set(epochs)) == list(range(1, EPOCHS + 1)), seen
    assert len(epochs) == len(set(epochs)), epochs  # resumed from the epoch saved on the notice: none trained twice


def test_a_trial_on_a_drained_node_is_told_as_a_train_worker_is(tmp_path: Path) -> None:
    """A 1-worker trial runs its loop with no Ray Train controller, so nothing of Ray Train watches its node: raydt's
    trial bridge asks Ray Core (``ray_compat.train.node_drained``), and the loops checkpoint on the notice."""
    _, out_text, err = run_helper("drain_probe_helper.py", [], timeout=180)
    lines = [ln for ln in out_text.splitlines() if ln.startswith('{"')]
    assert lines, err[-3000:]
    seen = json.loads(lines[-1])
    assert seen["drainRc"] == 0, seen["drainErr"]
    assert seen["before"] == {"node": seen["extra"], "drained": None}, seen
    drained = seen["after"]["drained"]
    assert drained is not None and drained["ranks"] == {seen["extra"]: [0]}, seen
    assert 15_000 <= drained["deadlineMs"] - seen["drainedAtMs"] <= 21_000, seen  # --deadline-remaining-seconds 20
