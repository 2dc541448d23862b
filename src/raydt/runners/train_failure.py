"""How a train run failed, as raydt's error: from Ray Train's exceptions (``classify``) or from the one actor of a
1-worker run (``runners.solo``), with the same codes, messages and details (the user's traceback tail, what was
saved). Imports Ray only inside the functions."""

from __future__ import annotations

import re
from typing import Any

from raydt import trainer_ref
from raydt.errors import NodePreemptedError, PendingTimeoutError, RunError, UserCodeError, failure_class
from raydt.plan import TrainPlan
from raydt.results import existing_dir


def classify(exc: Exception, history: list[dict[str, Any]], p: TrainPlan) -> RunError:
    """Turn a Ray Train failure into our error, with the user's traceback tail and what was saved."""
    import ray.train

    from raydt.ray_compat import train as ray_compat

    cause: BaseException = exc
    err: RunError
    if ray_compat.is_preemption(exc):  # maxPreemptions spent: Ray Train's PreemptionError, or workers lost with a node
        limit = "no limit" if p.max_preemptions is None else p.max_preemptions
        err = NodePreemptedError(
            f"a node of the run was drained for preemption more often than runConfig.maxPreemptions ({limit}) "
            f"allows: {first_line(exc)}"
        )
    elif isinstance(exc, ray.train.WorkerGroupError) and exc.worker_failures:
        rank, cause = sorted(exc.worker_failures.items())[0]
        err = failure_class(cause)(f"training worker {rank} raised {type(cause).__name__}: {first_line(cause)}")
    elif "StartupTimeout" in type(getattr(exc, "controller_failure", None)).__name__ + str(exc):
        err = pending_timeout(p)
    elif failure_class(exc) is not UserCodeError:  # the controller killed by Ray's memory monitor, or lost
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        err = failure_class(exc)(f"the training run was lost: {type(exc).__name__}: {first}")
    else:
        err = RunError(f"training failed: {first_line(exc)}", hint="See the log file for Ray's own messages.")
    return with_details(err, exc, cause, history, p)


def pending_timeout(p: TrainPlan) -> PendingTimeoutError:
    """The training workers could not be scheduled within ``pendingTimeoutS``."""
    return PendingTimeoutError(
        f"the training workers could not be scheduled within runConfig.pendingTimeoutS ({p.pending_timeout_s:g}s)",
        hint="The cluster lacks free resources for the worker group (busy, or waiting on an autoscaler); "
        "raise runConfig.pendingTimeoutS, lower config.numWorkers/resourcesPerWorker, or add nodes.",
    )


def with_details(
    err: RunError,
    exc: BaseException,
    cause: BaseException,
    history: list[dict[str, Any]],
    p: TrainPlan,
) -> RunError:
    """``err`` with the details every failed train run carries: the user's traceback tail, how many reports came,
    the last checkpoint saved, the experiment folder."""
    saved = [r["checkpoint"] for r in history if r.get("checkpoint")]
    text = str(exc)  # Ray Train puts each worker's own traceback in its message ("[Rank 0 Error Snippet]")
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # Ray colours the actor's name
    # Ray Train's message has a "Traceback" header; an actor's task error (runners.solo) starts at the frames
    has_frames = "Traceback" in text or '\n  File "' in text
    tail = (
        [ln for ln in text.splitlines() if ln.strip() and not set(ln.strip()) <= {"^", "~"}][-12:] if has_frames else []
    )
    details: dict[str, Any] = {"traceback": tail or trainer_ref.format_traceback(cause), "reports": len(history)}
    if saved and existing_dir(saved[-1]):
        details["lastCheckpointPath"] = saved[-1]
    details["experimentPath"] = p.experiment_path
    err.details = details
    return err


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # Ray wraps user errors; the last line usually holds the original message.
    return (lines[-1] if lines else type(exc).__name__)[:300]
