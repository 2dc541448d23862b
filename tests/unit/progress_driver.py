"""Drives raydt's live view with the calls the runners make, without Ray: ``python progress_driver.py tune|train
[STEP_S]``. The test suite runs it in a real terminal (tmux) and in a pipe. Stdout gets one JSON line at the end,
as ``raydt run`` prints its result, after the view finished."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass

from raydt.progress import ProgressView

TRIALS = 6  # one fails, five finish; two run at once
ITERATIONS = 5


@dataclass
class FakeTrial:
    """What the view reads of Tune's trials."""

    trial_id: str
    status: str = "PENDING"


def tune(view: ProgressView, step_s: float) -> None:
    view.watch("score", "min", unit="iter", throttle_s=2.0, total_trials=TRIALS, budget_s=None)
    trials = [FakeTrial(f"fake_{i:05d}") for i in range(TRIALS)]
    view.trials(trials)
    for pair in range(0, TRIALS, 2):
        running = trials[pair : pair + 2]
        for trial in running:
            trial.status = "RUNNING"
        last: dict[str, float] = {}
        for it in range(1, ITERATIONS + 1):
            for n, trial in enumerate(running):
                score = last[trial.trial_id] = 1.0 / (pair + n + 1) / it
                done = sum(t.status in ("TERMINATED", "ERROR") for t in trials)
                view.report(
                    {"score": score, "loss": score * 2},
                    it,
                    False,
                    prefix=f"trial {trial.trial_id} ({done} done, 2 running) ",
                    key=trial.trial_id,
                )
            time.sleep(step_s)
        for trial in running:
            if trial.trial_id == "fake_00003":
                trial.status = "ERROR"
                view.event(f"trial {trial.trial_id} failed: ValueError: boom")
            else:
                trial.status = "TERMINATED"
                view.event(
                    f"trial {trial.trial_id} finished after {ITERATIONS} iter(s), score={last[trial.trial_id]:.4g}"
                )


def train(view: ProgressView, step_s: float, epochs: int = 8) -> None:
    view.watch("loss", "min", epochs, unit="epoch")
    for epoch in range(1, epochs + 1):
        time.sleep(step_s)
        view.report({"loss": 1.0 / epoch, "accuracy": 1 - 0.5 / epoch, "epoch": epoch}, epoch, epoch % 2 == 0)


def main() -> None:
    kind = sys.argv[1]
    step_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
    view = ProgressView.open(sys.stderr)
    try:
        view.event(f"spec fake.json: mode {kind}")
        (tune if kind == "tune" else train)(view, step_s)
        view.event("done: success")
    finally:
        view.finish()
    print(json.dumps({"status": "success", "best": view.best}), flush=True)


if __name__ == "__main__":
    main()
