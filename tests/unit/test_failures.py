"""Failure classes: the same names whether Ray wraps the user's exception or not."""

from __future__ import annotations

import pytest

from raydt.errors import FAILURE_HINTS, failure_code


class OutOfMemoryError(Exception):  # the name Ray's memory monitor and torch.cuda use
    pass


class WorkerHealthCheckFailedError(Exception):
    pass


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (MemoryError(), "OUT_OF_MEMORY"),
        (OutOfMemoryError("Task was killed due to the node running low on memory"), "OUT_OF_MEMORY"),
        (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), "OUT_OF_MEMORY"),
        (RuntimeError("ray::RayTrainWorker() (pid=1) MemoryError"), "OUT_OF_MEMORY"),
        (WorkerHealthCheckFailedError("The actor is dead"), "WORKER_DIED"),
        (RuntimeError("ActorDiedError: The actor died unexpectedly"), "WORKER_DIED"),
        (ValueError("boom"), "USER_CODE_ERROR"),
        (KeyError("memory"), "USER_CODE_ERROR"),
    ],
)
def test_failure_code(error: BaseException, code: str) -> None:
    assert failure_code(error) == code
    assert FAILURE_HINTS[code]
