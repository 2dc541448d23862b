"""One error hierarchy, mapped to exit codes and stable JSON error codes: a class for every code.

The classes live in ``base`` (exit codes, ``SpecIssue``, ``RaydtError``), ``spec`` (exit 2), ``run`` (exit 1)
and ``failures`` (a failed worker's class); this module re-exports every name.

    RaydtError                       exit 1  INTERNAL              (a bug of raydt's)
    ├── SpecError                    exit 2  SPEC_INVALID          (carries every SpecIssue found)
    │   ├── SpecFileError            exit 2  SPEC_FILE             (missing, unreadable, unparsable)
    │   ├── DataError                exit 2  DATA_INVALID          (dataConfig's data cannot feed training)
    │   └── OptionError              exit 2  USAGE                 (a command-line option: issues at `--flag`)
    ├── UsageError                   exit 2  USAGE                 (bad command line)
    │   └── RunNotFoundError         exit 2  RUN_NOT_FOUND         (MCP: a runId that names no run)
    └── RunError                     exit 1  RUN_FAILED
        ├── RayConnectionError               RAY_CONNECTION
        ├── MissingDependencyError           MISSING_DEPENDENCY
        ├── UserCodeError                    USER_CODE_ERROR       (failure_class: the trainer raised)
        │   ├── WorkerOOMError               OUT_OF_MEMORY         (... a worker or trial ran out of memory)
        │   └── WorkerDiedError              WORKER_DIED           (... a worker process or its node died)
        │       └── NodePreemptedError       NODE_PREEMPTED        (... drained for preemption past maxPreemptions)
        ├── MetricNotReportedError           METRIC_NOT_REPORTED
        ├── NanMetricError                   NAN_METRIC
        ├── PendingTimeoutError              PENDING_TIMEOUT
        ├── PortInUseError                   PORT_IN_USE
        ├── InterruptedRunError              INTERRUPTED           (Ctrl-C before any result)
        ├── NoFeasibleTrialError     exit 3  NO_FEASIBLE_TRIAL     (status partial: no trial met the constraints)
        ├── RunInProgressError               RUN_IN_PROGRESS       (MCP: one run at a time)
        ├── JobsError                        JOBS_FAILED           (raydt submit, raydt jobs: a request refused)
        │   ├── JobsUnreachableError         JOBS_UNREACHABLE
        │   ├── JobsAuthError                JOBS_AUTH
        │   ├── NotRayDashboardError         NOT_RAY_DASHBOARD
        │   ├── JobNotFoundError             JOB_NOT_FOUND
        │   ├── JobNoResultError             JOB_NO_RESULT
        │   ├── JobStoppedError              JOB_STOPPED
        │   └── JobFailedError               JOB_FAILED
        ├── TrackingError                    TRACKING_UNREACHABLE  (runConfig.tracking: the server does not answer)
        │   └── TrackingUnavailableError     TRACKING_UNAVAILABLE  (MLflow missing, or it refuses the store)
        ├── InfeasibleResourcesError         INFEASIBLE_RESOURCES
        │   └── DoesNotFitError      exit 2  DOES_NOT_FIT          (raydt plan: the run cannot fit its target)
        └── NotReadyError                    ENVIRONMENT_NOT_READY (raydt doctor: a check failed)

``ERROR_CODES`` (every code with its exit code, walked from the classes) is the one list the output schema's
``error.code`` enum, the docs and the tests read. Messages state the rule and the value received; ``hint``
says what to do about it.
"""

from __future__ import annotations

from raydt.errors.base import EXIT_PARTIAL, EXIT_RUN_ERROR, EXIT_SPEC_ERROR, EXIT_SUCCESS, RaydtError, SpecIssue
from raydt.errors.failures import (
    DIED,
    FAILURE_CLASSES,
    FAILURE_HINTS,
    PREEMPTED,
    RETRYABLE,
    failure_class,
    failure_code,
)
from raydt.errors.run import (
    DoesNotFitError,
    InfeasibleResourcesError,
    InterruptedRunError,
    JobFailedError,
    JobNoResultError,
    JobNotFoundError,
    JobsAuthError,
    JobsError,
    JobStoppedError,
    JobsUnreachableError,
    MetricNotReportedError,
    MissingDependencyError,
    NanMetricError,
    NodePreemptedError,
    NoFeasibleTrialError,
    NotRayDashboardError,
    NotReadyError,
    PendingTimeoutError,
    PortInUseError,
    RayConnectionError,
    RunError,
    RunInProgressError,
    TrackingError,
    TrackingUnavailableError,
    UserCodeError,
    WorkerDiedError,
    WorkerOOMError,
)
from raydt.errors.spec import (
    DataError,
    OptionError,
    RunNotFoundError,
    SpecError,
    SpecFileError,
    UsageError,
)


def error_classes(root: type[RaydtError] = RaydtError) -> tuple[type[RaydtError], ...]:
    """``root`` and every subclass, in the order of the tree above."""
    return (root, *(cls for sub in root.__subclasses__() for cls in error_classes(sub)))


#: Every error code raydt reports in ``error.code``, with its exit code (USAGE has two classes, one exit code).
ERROR_CODES: dict[str, int] = {cls.code: cls.exit_code for cls in error_classes()}

__all__ = [
    "DIED",
    "DataError",
    "DoesNotFitError",
    "ERROR_CODES",
    "EXIT_PARTIAL",
    "EXIT_RUN_ERROR",
    "EXIT_SPEC_ERROR",
    "EXIT_SUCCESS",
    "FAILURE_CLASSES",
    "FAILURE_HINTS",
    "InfeasibleResourcesError",
    "InterruptedRunError",
    "JobFailedError",
    "JobNoResultError",
    "JobNotFoundError",
    "JobStoppedError",
    "JobsAuthError",
    "JobsError",
    "JobsUnreachableError",
    "MetricNotReportedError",
    "MissingDependencyError",
    "NanMetricError",
    "NoFeasibleTrialError",
    "NodePreemptedError",
    "NotRayDashboardError",
    "NotReadyError",
    "OptionError",
    "PREEMPTED",
    "PendingTimeoutError",
    "PortInUseError",
    "RETRYABLE",
    "RayConnectionError",
    "RaydtError",
    "RunError",
    "RunInProgressError",
    "RunNotFoundError",
    "SpecError",
    "SpecFileError",
    "SpecIssue",
    "TrackingError",
    "TrackingUnavailableError",
    "UsageError",
    "UserCodeError",
    "WorkerDiedError",
    "WorkerOOMError",
    "error_classes",
    "failure_class",
    "failure_code",
]
