"""How a search ended (the end-reason values, which trials a stop cut off) and the resume hint: shared by the
result of a search with a best trial (``runners.tune.results``) and of one without (``runners.tune.failures``).
Ray-free."""

from __future__ import annotations

from dataclasses import dataclass

#: results.endReason values
ALL_TRIALS_DONE, GOAL_REACHED, TIME_BUDGET, INTERRUPTED, MAX_FAILED = (
    "ALL_TRIALS_DONE",
    "GOAL_REACHED",
    "TIME_BUDGET",
    "INTERRUPTED",
    "MAX_FAILED_TRIALS",
)


@dataclass(frozen=True)
class Ending:
    """Which trials ran to their end, and why the search as a whole ended."""

    ended: frozenset[str] | None  # trials that ended on their own, were stopped or failed (None: no ledger)
    unfinished: frozenset[str]  # trials Tune still had running, pending or paused (no ledger)
    stopped_by_search: bool  # timeBudgetS spent or stopAt reached
    reason: str
    retries: dict[str, list[dict[str, str]]]  # trial id -> each retried failure {code, error}

    def cut(self, trial_id: str) -> bool:
        """The trial was still going when the search ended."""
        return trial_id not in self.ended if self.ended is not None else trial_id in self.unfinished


def resume_hint(experiment_path: str) -> str:
    """The hint of every interrupted run, train or tune."""
    return f"Continue it with: raydt resume {experiment_path}"
