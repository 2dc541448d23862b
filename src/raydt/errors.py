"""One error hierarchy, mapped to exit codes and stable JSON error codes: a class for every code.

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
        └── NotReadyError                    ENVIRONMENT_NOT_READY (raydt doctor: a check failed)

``ERROR_CODES`` (every code with its exit code, walked from the classes) is the one list the output schema's
``error.code`` enum, the docs and the tests read. Messages state the rule and the value received; ``hint``
says what to do about it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

EXIT_SUCCESS = 0
EXIT_RUN_ERROR = 1
EXIT_SPEC_ERROR = 2
EXIT_PARTIAL = 3


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec: where (dotted path), which rule, what was given, what to do."""

    path: str
    rule: str
    value: Any = None
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path or '<spec>'}: {self.rule}"
        if self.value is not None:
            text += f" (got {_short(self.value)})"
        if self.hint:
            text += f"; hint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["value"] = _jsonable(self.value)
        return data


class RaydtError(Exception):
    """Base of every error raydt reports; carries a stable ``code``, an exit code and a hint."""

    code = "INTERNAL"
    exit_code = EXIT_RUN_ERROR
    details: dict[str, Any] | None = None  # extra context for error.details (traceback tail, paths)
    default_hint = "This is a bug in raydt; please report it with the spec that caused it."

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` object of the JSON result."""
        data: dict[str, Any] = {"code": self.code, "message": self.message, "hint": self.hint}
        if self.details:
            data["details"] = {k: v for k, v in self.details.items() if v is not None}
        return data


class SpecError(RaydtError):
    """The spec is invalid; ``issues`` lists every problem found, not just the first."""

    code = "SPEC_INVALID"
    exit_code = EXIT_SPEC_ERROR
    what = "invalid spec"
    default_hint = "Fix the fields listed in error.issues; `raydt schema input` prints every valid key."

    def __init__(
        self,
        issues: list[SpecIssue] | str,
        *,
        hint: str | None = None,
    ) -> None:
        if isinstance(issues, str):
            issues = [SpecIssue(path="", rule=issues, hint=hint or "")]
        self.issues = issues
        if len(issues) == 1:
            message = f"{self.what}: {issues[0]}"
        else:
            message = f"{self.what}: {len(issues)} problems:\n" + "\n".join(f"  - {i}" for i in issues)
        if hint is None and len(issues) == 1 and issues[0].hint:
            hint = issues[0].hint
        super().__init__(message, hint=hint)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["issues"] = [issue.to_dict() for issue in self.issues]
        return data


class SpecFileError(SpecError):
    """The spec file is missing, unreadable, empty or not valid JSON/YAML."""

    code = "SPEC_FILE"
    default_hint = "Pass a .json, .yaml or .yml file, or '-' to read the spec from stdin."


class DataError(SpecError):
    """The data named by ``dataConfig`` cannot feed training: unreadable or empty files, a missing label
    column, non-numeric features without an encoding step, train/validation columns that differ."""

    code = "DATA_INVALID"
    what = "invalid data"
    default_hint = "Fix the data or dataConfig as error.issues says; nothing has been trained yet."


class OptionError(SpecError):
    """A command-line option's value is invalid, alone or with the spec (``raydt k8s --storage``): reported like a
    spec problem, each issue's path naming the option (``--image``)."""

    code = "USAGE"
    what = "invalid option"
    default_hint = "Fix the options listed in error.issues; `raydt --help` describes each command's options."


class UsageError(RaydtError):
    """The command line itself is wrong."""

    code = "USAGE"
    exit_code = EXIT_SPEC_ERROR
    default_hint = "Run `raydt --help` for the commands and an example of each."


class RunNotFoundError(UsageError):
    code = "RUN_NOT_FOUND"  # the MCP server: a runId that names no run of this server


class RunError(RaydtError):
    """Something failed while running a valid spec."""

    code = "RUN_FAILED"
    default_hint = "See error.details and the log file named in logFile."


class RayConnectionError(RunError):
    """Could not connect to or start Ray."""

    code = "RAY_CONNECTION"
    default_hint = (
        "Check config.address (or RAY_ADDRESS): it must be the head node's GCS address (host:6379), "
        "'auto' for a cluster started with `ray start` on this machine, or left out for an embedded Ray."
    )


class MissingDependencyError(RunError):
    code = "MISSING_DEPENDENCY"  # an optional package (a framework's extra) is not installed


class UserCodeError(RunError):
    """The user's trainer raised (at import or while training)."""

    code = "USER_CODE_ERROR"
    default_hint = "The traceback tail in error.details comes from your trainer; fix it and run again."


class WorkerOOMError(UserCodeError):
    """A training worker or trial ran out of memory (Python's, or Ray's memory monitor killed it)."""

    code = "OUT_OF_MEMORY"
    default_hint = (
        "The worker ran out of memory: lower the batch size or model size, give each worker more "
        "memory (config.resourcesPerWorker.memoryGb, which also keeps Ray from packing workers onto one node), "
        "or use fewer workers per node."
    )


class WorkerDiedError(UserCodeError):
    """A training worker's process or its node died (killed, crashed, node lost)."""

    code = "WORKER_DIED"
    default_hint = (
        "A worker process or its node died (killed, crashed, node lost). Raise runConfig.maxFailures "
        "(tuneConfig.maxFailuresPerTrial for searches) to retry from the last checkpoint; see the log file."
    )


class MetricNotReportedError(RunError):
    code = "METRIC_NOT_REPORTED"  # the metric the spec asks for was never reported by the trainer


class NanMetricError(RunError):
    """The metric was reported, but never as a finite number: the training diverged."""

    code = "NAN_METRIC"
    default_hint = "The training diverged: lower the learning rate, check the data for NaN, or clip gradients."


class PendingTimeoutError(RunError):
    code = "PENDING_TIMEOUT"  # workers or trials could not be scheduled within ``runConfig.pendingTimeoutS``


class PortInUseError(RunError):
    code = "PORT_IN_USE"  # ``serveConfig.port`` is taken by another process


class InterruptedRunError(RunError):
    """Ctrl-C (or a stop signal) ended the run before it had any result."""

    code = "INTERRUPTED"
    default_hint = "Run the same spec again (a named run continues where it stopped)."


class NoFeasibleTrialError(RunError):
    """Trials produced the metric but none met ``tuneConfig.constraints``: the search ends ``partial`` (exit 3)
    with this error object; never raised."""

    code = "NO_FEASIBLE_TRIAL"
    exit_code = EXIT_PARTIAL
    default_hint = (
        "Relax the constraints, widen the search space, or run more samples (trials[].lastMetrics "
        "shows each trial's values)."
    )


class RunInProgressError(RunError):
    code = "RUN_IN_PROGRESS"  # the MCP server runs one run at a time: another is still running


class JobsError(RunError):
    """A Ray Jobs request failed (the Jobs API refused it); its subclasses: the dashboard cannot be reached,
    refuses the token, is not Ray's, or the job is unknown, failed or left no result."""

    code = "JOBS_FAILED"
    default_hint = "Check --address (the head's dashboard, http://HOST:8265) and the job's logs: raydt jobs logs JOB."


class JobsUnreachableError(JobsError):
    code = "JOBS_UNREACHABLE"  # nothing answers at the address, or the dashboard went away


class JobsAuthError(JobsError):
    code = "JOBS_AUTH"  # HTTP 401 (no token) or 403 (a wrong one)


class NotRayDashboardError(JobsError):
    code = "NOT_RAY_DASHBOARD"  # something answers, but not Ray's dashboard with the Jobs API


class JobNotFoundError(JobsError):
    code = "JOB_NOT_FOUND"


class JobNoResultError(JobsError):
    code = "JOB_NO_RESULT"  # the job still runs: no result yet


class JobStoppedError(JobsError):
    code = "JOB_STOPPED"  # stopped before raydt wrote its result


class JobFailedError(JobsError):
    code = "JOB_FAILED"  # ended without a result


class TrackingError(RunError):
    """The experiment tracker (MLflow) cannot be used: its server does not answer before training starts
    (TRACKING_UNREACHABLE), or MLflow is not installed or refuses the store (TRACKING_UNAVAILABLE)."""

    code = "TRACKING_UNREACHABLE"
    default_hint = "Start the tracking server or fix runConfig.tracking.mlflow.trackingUri (or MLFLOW_TRACKING_URI)."


class TrackingUnavailableError(TrackingError):
    code = "TRACKING_UNAVAILABLE"  # MLflow is not installed, or refuses the store


class InfeasibleResourcesError(RunError):
    code = "INFEASIBLE_RESOURCES"  # the spec asks for more than the cluster can ever provide


class NotReadyError(RunError):
    """``raydt doctor``: at least one check failed, so this environment cannot run what was asked."""

    code = "ENVIRONMENT_NOT_READY"
    default_hint = "Fix what each failed check's `fix` says (result.checks), then run raydt doctor again."


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return _short(value)


#: The failure classes of a worker or trial (``failure_class``), each with its code and hint.
FAILURE_CLASSES: tuple[type[UserCodeError], ...] = (WorkerOOMError, WorkerDiedError, UserCodeError)
#: What to do about each class of worker/trial failure (``failure_code``).
FAILURE_HINTS = {cls.code: cls.default_hint for cls in FAILURE_CLASSES}


def failure_class(error: BaseException) -> type[UserCodeError]:
    """A stable class for a failed worker or trial: ``WorkerOOMError``, ``WorkerDiedError`` or ``UserCodeError``.

    Reads names and text only (Ray wraps the user's exception), so it needs no Ray import.
    """
    text = f"{type(error).__name__}: {error}"
    if any(n in text for n in ("OutOfMemoryError", "MemoryError")) or "out of memory" in text.lower():
        return WorkerOOMError
    if any(n in text for n in DIED):
        return WorkerDiedError
    return UserCodeError


def failure_code(error: BaseException) -> str:
    """``failure_class(error)``'s code: OUT_OF_MEMORY, WORKER_DIED or USER_CODE_ERROR."""
    return failure_class(error).code


#: Ray's names for a worker process or node that died (killed, crashed, lost): a retry can fix these.
DIED = (
    "ActorDiedError",
    "RayActorError",
    "ActorUnavailableError",
    "WorkerCrashedError",
    "NodeDiedError",
    "WorkerHealthCheckFailedError",  # Ray Train: a worker process vanished (SIGKILL, node loss)
)
#: ... and Ray's memory monitor killing a worker (``ray.exceptions.OutOfMemoryError``): retried too.
RETRYABLE = (*DIED, "OutOfMemoryError")


def error_classes(root: type[RaydtError] = RaydtError) -> tuple[type[RaydtError], ...]:
    """``root`` and every subclass, in the order of the tree above."""
    return (root, *(cls for sub in root.__subclasses__() for cls in error_classes(sub)))


#: Every error code raydt reports in ``error.code``, with its exit code (USAGE has two classes, one exit code).
ERROR_CODES: dict[str, int] = {cls.code: cls.exit_code for cls in error_classes()}
