"""Every use of a non-public Ray API, in one place. Imports Ray: loaded only for a run.

Each entry says why no public API does the job; ``tests/unit/test_ray_compat.py`` fails loudly, naming
the Ray version, when Ray changes what an entry relies on. A Ray upgrade starts by reading this file.
"""

from __future__ import annotations

import sys
from typing import Any

import ray
from ray.train.v2._internal.execution.failure_handling import (  # private: see retry_system_failures_only
    DefaultFailurePolicy,
    FailureDecision,
)
from ray.train.v2.api import data_parallel_trainer  # private attribute patched: create_failure_policy

from raydt.errors import RETRYABLE

RAY_VERSION = ray.__version__


class SystemFailuresOnly(DefaultFailurePolicy):  # type: ignore[misc]
    """Ray Train's failure policy, except that an exception raised by the user's own code is not retried.

    Ray Train retries every worker-group failure up to ``FailureConfig.max_failures``; a trainer that raises
    the same exception at epoch 2 then runs three times. A retry can fix a dead worker or node, a
    preemption or a worker Ray killed for memory, not a bug: those alone are retried (``RETRYABLE``).
    """

    def __init__(self, failure_config: Any) -> None:
        super().__init__(failure_config)
        self.retryable = RETRYABLE  # kept on the instance: the controller actor needs no raydt import

    def make_decision(self, training_failed_error: Any) -> Any:
        failures = getattr(training_failed_error, "worker_failures", None)
        if failures and not any(
            any(n in f"{type(e).__name__}: {e}" for n in self.retryable) for e in failures.values()
        ):
            return FailureDecision.RAISE
        return super().make_decision(training_failed_error)


def retry_system_failures_only() -> None:
    """Make Ray Train build ``SystemFailuresOnly`` instead of its default policy (idempotent).

    Why private: Ray Train V2 has no public hook to choose which failures are retried;
    ``DataParallelTrainer.fit`` calls the module-level ``create_failure_policy(failure_config)`` in the
    driver and ships the policy to its controller actor. The class travels by value (cloudpickle), so
    the controller's node needs no raydt.
    """
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    data_parallel_trainer.create_failure_policy = SystemFailuresOnly
