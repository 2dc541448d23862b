"""A failed worker's or trial's class, read from Ray's wrapped exception text (no Ray import)."""

from __future__ import annotations

from raydt.errors.run import NodePreemptedError, UserCodeError, WorkerDiedError, WorkerOOMError

#: The failure classes of a worker or trial (``failure_class``), each with its code and hint.
FAILURE_CLASSES: tuple[type[UserCodeError], ...] = (NodePreemptedError, WorkerOOMError, WorkerDiedError, UserCodeError)
#: What to do about each class of worker/trial failure (``failure_code``).
FAILURE_HINTS = {cls.code: cls.default_hint for cls in FAILURE_CLASSES}


def failure_class(error: BaseException) -> type[UserCodeError]:
    """A stable class for a failed worker or trial: ``NodePreemptedError`` (Ray Train's ``PreemptionError``: a node
    drained for preemption), ``WorkerOOMError``, ``WorkerDiedError`` or ``UserCodeError``.

    Reads names and text only (Ray wraps the user's exception), so it needs no Ray import.
    """
    text = f"{type(error).__name__}: {error}"
    if any(n in text for n in PREEMPTED):
        return NodePreemptedError
    if any(n in text for n in ("OutOfMemoryError", "MemoryError")) or "out of memory" in text.lower():
        return WorkerOOMError
    if any(n in text for n in DIED):
        return WorkerDiedError
    return UserCodeError


def failure_code(error: BaseException) -> str:
    """``failure_class(error)``'s code: NODE_PREEMPTED, OUT_OF_MEMORY, WORKER_DIED or USER_CODE_ERROR."""
    return failure_class(error).code


#: Ray's names for a worker process or node that died (killed, crashed, lost): a retry can fix these.
DIED = (
    "ActorDiedError",
    "RayActorError",
    "ActorUnavailableError",
    "WorkerCrashedError",
    "NodeDiedError",
    "WorkerHealthCheckFailedError",  # Ray Train: a worker process vanished (SIGKILL, node loss)
    # a collective whose peer died (its node lost or preempted early): the survivors raise these, often before
    # Ray Train sees the dead worker (measured: gloo's reset reached the controller first); never a bug to fix
    "Connection reset by peer",
    "Connection closed by peer",
    "DistNetworkError",
    "NCCL communicator was aborted",
    "remote process exited or there was a network error",
)
#: ... and Ray's memory monitor killing a worker (``ray.exceptions.OutOfMemoryError``): retried too.
RETRYABLE = (*DIED, "OutOfMemoryError")
#: Ray Train's names for a run interrupted by a node drained for preemption (``ray.train.PreemptionError``).
PREEMPTED = ("PreemptionError", "interrupted by node preemption")
