"""The live view: iterations named as the trainer counts them, and fast trials throttled per trial."""

from __future__ import annotations

import io

from raydt.progress import ProgressView


def lines(stream: io.StringIO) -> list[str]:
    return [ln for ln in stream.getvalue().splitlines() if ln]


def test_fast_trials_get_one_line_per_trial_per_interval_but_every_new_best() -> None:
    out = io.StringIO()
    view = ProgressView(out)
    view.watch("score", "min", unit="iter", throttle_s=60)
    view.report({"score": 1.0}, 1, False, key="a")  # first line of a trial: shown
    for i in range(2, 1000):  # worse values, as fast as they come: held back
        view.report({"score": 2.0}, i, False, key="a")
    view.report({"score": 5.0}, 1, False, key="b")  # another trial's first line: shown
    view.report({"score": 0.5}, 1000, False, key="a")  # a new best: always shown
    shown = lines(out)
    assert len(shown) == 3, shown
    assert view.held_back == 998
    assert "iter 1000" in shown[-1] and "(best score=0.5)" in shown[-1]


def test_without_throttle_every_report_is_a_line() -> None:
    out = io.StringIO()
    view = ProgressView(out)
    view.watch("loss", "min", total_epochs=3)
    for epoch in (1, 2, 3):
        view.report({"loss": 1.0 / epoch, "epoch": epoch}, epoch, True)
    assert [ln.split("] ", 1)[1].split("  ")[0] for ln in lines(out)] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]


def test_iterations_are_named_as_the_trainer_counts_them() -> None:
    out = io.StringIO()
    view = ProgressView(out)
    view.watch("val_logloss", "min", unit="round")
    view.report({"val_logloss": 0.3}, 7, False)  # no counter in the metrics: the framework's unit
    view.report({"val_logloss": 0.2, "step": 40}, 8, False)  # the trainer's own counter wins
    first, second = lines(out)
    assert "round 7" in first and "epoch" not in first
    assert "step 40" in second and "step=" not in second
