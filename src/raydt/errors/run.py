"""What failed while running (exit 1, or 3 for a search without a feasible trial; 2 for a plan that does not fit)."""

from __future__ import annotations

from raydt.errors.base import EXIT_PARTIAL, EXIT_SPEC_ERROR, RaydtError


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


class NodePreemptedError(WorkerDiedError):
    """A node of the run was drained for preemption (spot reclaim, node upgrade) more often than allowed."""

    code = "NODE_PREEMPTED"
    default_hint = (
        "A node running training workers was drained for preemption (a spot node taken back, a Kubernetes node "
        "upgrade) more often than runConfig.maxPreemptions allows; raise it or leave it out (no limit). Each "
        "preemption restarts the workers from the checkpoint saved on the drain notice."
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


class DoesNotFitError(InfeasibleResourcesError):
    """``raydt plan``: the run cannot run on its target (nothing ran); ``result.plan`` says why, with figures."""

    code = "DOES_NOT_FIT"
    exit_code = EXIT_SPEC_ERROR


class NotReadyError(RunError):
    """``raydt doctor``: at least one check failed, so this environment cannot run what was asked."""

    code = "ENVIRONMENT_NOT_READY"
    default_hint = "Fix what each failed check's `fix` says (result.checks), then run raydt doctor again."
