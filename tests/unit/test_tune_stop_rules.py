"""The search's stopper without a running Ray: per-trial iteration limits and thresholds, every required
metric checked, and maxFailedTrials ending the search (recorded in the ledger for a resumed search)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raydt.experiment.ledger import LEDGER_FILE, read_ledger
from raydt.runners.tune.watch import METRIC_MARKER, FailedTrials, SearchStopper


def test_a_trial_stops_at_max_iterations_or_a_threshold_and_the_search_goes_on() -> None:
    stopper = SearchStopper("score", "min", None, max_iterations=3, trial_stop={"acc": 0.9})
    assert not stopper("t", {"score": 1.0, "acc": 0.5, "training_iteration": 2})
    assert stopper("t", {"score": 1.0, "acc": 0.5, "training_iteration": 3})
    assert stopper("u", {"score": 1.0, "acc": 0.95, "training_iteration": 1})
    assert not stopper.stop_all()


def test_every_objective_and_constrained_metric_must_be_reported() -> None:
    stopper = SearchStopper("score", "min", None, also=("score", "ms"))
    with pytest.raises(RuntimeError) as info:
        stopper("t", {"score": 1.0, "training_iteration": 1})
    assert METRIC_MARKER in str(info.value) and '["score"]' in str(info.value)


def test_max_failed_trials_ends_the_search_and_is_written_to_the_ledger(tmp_path: Path) -> None:
    (tmp_path / LEDGER_FILE).write_text(json.dumps({"event": "complete", "trial": "a"}) + "\n")
    stopper = SearchStopper("score", "min", None, str(tmp_path), max_failed=2)
    watch = FailedTrials(stopper)
    watch.on_trial_error(0, [], trial=None)
    assert not stopper.stop_all()
    watch.on_trial_error(0, [], trial=None)
    assert stopper.stop_all()
    assert (read_ledger(str(tmp_path)) or {}).get("maxFailed") is True
