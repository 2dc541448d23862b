"""The result model: every key raydt prints, its JSON type and what it means (pydantic v2, strict types).

The seed's output schema (``status``, ``results``, ``checkpointPath``, ``clusterStatus``, ``trainingTime``)
is kept exactly; raydt adds only camelCase keys. Field names are snake_case in Python and camelCase in
the JSON (aliases only). Unknown keys are rejected, types are strict (``1`` is not a boolean, ``"4"`` not
an integer), and a key without a value is left out: a field declared with ``opt(...)`` is a value or no
key at all, never ``null``; only a field declared ``X | None = Field(None, ...)`` may be ``null``
(``results.fields``). ``raydt schema output`` is generated from these classes (``results.schema``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from raydt.results.diagnosis import Cause, Check
from raydt.results.fields import ErrorCode, Number, ResultModel, opt
from raydt.results.outputs import (
    BundleInfo,
    Deployment,
    JobRow,
    JobStatus,
    K8sManifests,
    PredictOutput,
    ServedModelInfo,
    ServeInfo,
    Submission,
    TrackingInfo,
)
from raydt.results.plan import Cost, PlanInfo
from raydt.results.search import PARETO_HELP, ContinuedFrom, ParetoMember
from raydt.results.usage import UTILISATION_HELP, RunUsage, Usage

Status = Literal["success", "error", "partial"]
Mode = Literal["train", "tune", "cluster", "serve", "predict"]
MetricMode = Literal["min", "max"]
SUCCESS, ERROR, PARTIAL = "success", "error", "partial"
TrialStatus = Literal["TERMINATED", "ERROR", "INTERRUPTED"]
EndReason = Literal[
    "ALL_TRIALS_DONE", "GOAL_REACHED", "TIME_BUDGET", "INTERRUPTED", "MAX_FAILED_TRIALS", "COMPLETED", "EARLY_STOPPED"
]


class Retry(ResultModel):
    """A failure raydt retried from the last checkpoint."""

    code: str = Field(
        description="Its class: WORKER_DIED, OUT_OF_MEMORY, ... (see error.code); NODE_PREEMPTED: a node of the run "
        "was drained for preemption and the workers restarted from the checkpoint saved on the notice "
        "(runConfig.maxPreemptions, not maxFailures)."
    )
    error: str = Field(description="The failure's message (each failed rank's, in train mode).")
    trial_id: str | None = opt("Tune mode: the trial that was retried.")


class Results(ResultModel):
    """What the run found: the seed's four keys (numTrials and completedTrials always), then raydt's."""

    best_config: dict[str, Any] | None = opt(
        "The best trial's sampled config (tune, nested as given) or the run's loop config (train)."
    )
    best_metric: Number | None = opt("The best value the metric (results.metric) reached.")
    num_trials: int = Field(
        description="Trials run: 1 for a train run, 0 when nothing was trained; in tune mode "
        "completedTrials + failedTrials + interruptedTrials."
    )
    completed_trials: int = Field(
        description="Trials that ran to their end or were stopped early on purpose (scheduler, stopAt, timeBudgetS)."
    )
    metric: str | None = opt("The metric bestMetric refers to.")
    metric_mode: MetricMode | None = opt("Whether lower (min) or higher is better.")
    best_iteration: int | None = opt("The report (epoch) bestMetric comes from, 1-based.")
    iterations: int | None = opt("Reports made by the run.")
    best_metrics: dict[str, Any] | None = opt("Every metric of the best report.")
    final_metrics: dict[str, Any] | None = opt("Every metric of the last report.")
    failed_trials: int | None = opt("Tune mode: trials that ended with an error.")
    interrupted_trials: int | None = opt(
        "Trials a stop signal (Ctrl-C) cut off before they finished; `raydt resume` continues them."
    )
    not_started_trials: int | None = opt(
        "Tune mode: trials the search created but never started (queued when it ended: maxFailedTrials, "
        "stopAt, timeBudgetS, Ctrl-C); they are not in numTrials nor in trials."
    )
    end_reason: EndReason | None = opt(
        "Why the run ended. A search: every trial ran (ALL_TRIALS_DONE), tuneConfig.stopAt was reached, "
        "tuneConfig.timeBudgetS was spent, it was interrupted, or tuneConfig.maxFailedTrials trials failed. "
        "A train run: its trainer returned (COMPLETED; raydt's loop: every epoch ran), early stopping "
        "(trainLoopConfig.patience) ended it before plannedIterations (EARLY_STOPPED), or Ctrl-C (INTERRUPTED).",
    )
    planned_iterations: int | None = opt(
        "Train mode, raydt's own loop: the epochs the run was set to (trainConfig.epochs); early stopping may end "
        "it sooner (endReason EARLY_STOPPED, the last report's epoch in finalMetrics)."
    )
    best_trial_id: str | None = opt("The trial bestMetric comes from.")
    best_trial_status: Literal["TERMINATED", "INTERRUPTED"] | None = opt(
        "Whether that trial finished (TERMINATED) or was cut off (INTERRUPTED)."
    )
    retries: list[Retry] | None = opt(
        "Failures raydt retried from the last checkpoint, each with its code and error "
        "(worker or node deaths, nodes drained for preemption; an exception from user code is not retried).",
    )
    search_algorithm: str | None = opt("The searcher that ran (registry name).")
    scheduler: str | None = opt("The scheduler that ran (registry name).")
    search_choice: str | None = opt("Why that searcher/scheduler.")
    pareto_front: list[ParetoMember] | None = opt(PARETO_HELP)
    feasible_trials: int | None = opt("tuneConfig.constraints: trials whose last report met every constraint.")
    warm_started_trials: int | None = opt("tuneConfig.warmStart: earlier trials given to the searcher (not run).")
    continued_from: ContinuedFrom | None = opt(
        "A warm-started search (`raydt run SPEC --continue-from DIR`): the earlier experiment and the spec changes."
    )
    rows_in: int | None = opt("mode predict: rows read from predictConfig.data, bad rows included.")
    rows_out: int | None = opt("mode predict: rows written to output.path, one prediction each (rowsIn - badRows).")
    bad_rows: int | None = opt(
        "mode predict: rows the model could not predict, left out of the output (onBadRows: skip); with "
        "onBadRows: fail the first one ends the run with an error, so a success reports 0."
    )
    rows_per_second: Number | None = opt("mode predict: rowsIn per second, from the first read to the output in place.")
    cost: Cost | None = opt(
        "config.costPerHour, train and tune runs: spent = perHour x the measured wall time (connecting to Ray to the "
        "result); perHour prices the cluster's nodes, or the CPUs and GPUs the run reserves at once."
    )
    utilisation: RunUsage | None = opt(UTILISATION_HELP)


class Autoscaler(ResultModel):
    """An autoscaler that can add nodes to the cluster."""

    version: Literal["v1", "v2", "declared"] = Field(
        description="v1: Ray's monitor reports configured node types; v2: the v2 autoscaler (KubeRay); "
        "declared: config.autoscaling is true."
    )
    node_types: list[str] = Field(description="Configured node types of its nodes so far (v1).")
    source: Literal["detected", "spec"] = Field(description="Read from Ray (detected) or config.autoscaling (spec).")


class Node(ResultModel):
    """One live node of the cluster."""

    node_id: str | None = opt("Ray's node id.")
    address: str | None = opt("The node's IP address.")
    is_head: bool | None = opt("The head node.")
    cpu: Number | None = opt("CPUs of the node.")
    gpu: Number | None = opt("GPUs of the node.")
    memory_bytes: int | None = opt("Ray's 'memory' resource of the node, in bytes.")
    object_store_memory_bytes: int | None = opt("The node's object store, in bytes.")
    custom_resources: dict[str, Number] | None = opt("Custom Ray resources of the node.")


class ClusterStatus(ResultModel):
    """The Ray cluster the run used: the seed's three numbers, then raydt's."""

    num_nodes: int = Field(description="Live nodes.")
    total_cpu: Number = Field(description="CPUs of all nodes.")
    total_gpu: Number = Field(description="GPUs of all nodes.")
    available_cpu: Number | None = opt("CPUs not reserved when the run started.")
    available_gpu: Number | None = opt("GPUs not reserved when the run started.")
    total_memory_bytes: int | None = opt("Ray's 'memory' resource of all nodes, in bytes.")
    ray_version: str | None = opt("The Ray version of the driver.")
    address: str | None = opt("The address connected to, or 'embedded'.")
    source: Literal["raydt cluster up", "address", "embedded"] | None = opt(
        "Where the cluster came from: 'raydt cluster up' (the lasting local cluster, used when no address "
        "is given and it runs), 'address' (config.address or RAY_ADDRESS), 'embedded' (a Ray of this run; "
        "config.address: local forces one)."
    )
    autoscaler: Autoscaler | None = Field(
        None,
        description="The cluster's autoscaler, or null when it cannot add nodes. Requests the current "
        "nodes cannot hold then wait up to runConfig.pendingTimeoutS instead of failing at once.",
    )
    nodes: list[Node] | None = opt("Every live node with its resources.")


class TrialError(ResultModel):
    """Why a trial failed."""

    code: str = Field(description="USER_CODE_ERROR, OUT_OF_MEMORY, WORKER_DIED, NODE_PREEMPTED or NAN_METRIC.")
    error_class: str = Field(alias="class", description="The exception's class inside Ray's wrappers.")
    message: str = Field(description="The exception's message (its last line).")
    traceback: list[str] = Field(description="The traceback's last lines.")


class TrialRow(ResultModel):
    """One trial of a search."""

    trial_id: str = Field(description="Ray Tune's trial id.")
    config: dict[str, Any] = Field(description="The trial's sampled config.")
    status: TrialStatus = Field(description="TERMINATED (ended or stopped on purpose), ERROR or INTERRUPTED.")
    iterations: int = Field(description="Results the trial reported (Tune's training_iteration).")
    last_metrics: dict[str, Any] = Field(description="Every metric of the trial's last report (NaN as null).")
    best_metric: Number | None = Field(description="The best finite value of the metric; null when there was none.")
    stopped_early: bool | None = opt("The scheduler, stopAt or timeBudgetS stopped it before its last iteration.")
    error: TrialError | None = opt("A failed trial's error.")
    utilisation: Usage | None = opt("What the trial's worker processes used of what they reserved.")


class Issue(ResultModel):
    """One problem in a spec (SPEC_INVALID, SPEC_FILE, DATA_INVALID, USAGE)."""

    path: str = Field(description="Where: the dotted path in the spec ('' for the whole spec).")
    rule: str = Field(description="The rule that failed.")
    value: Any = Field(None, description="The value received (null: none).")
    hint: str = Field(description="What to do about it ('' when nothing to add).")


class ErrorInfo(ResultModel):
    """Why the run failed (status error), or why a partial search stopped."""

    code: ErrorCode = Field(
        description="Stable code, e.g. SPEC_INVALID, USER_CODE_ERROR; one class of raydt.errors each."
    )
    message: str = Field(description="What happened, with the rule and the value received.")
    hint: str = Field(description="What to do about it.")
    issues: list[Issue] | None = opt("An invalid spec or data: every problem found at once.")
    details: dict[str, Any] | None = opt(
        "More context: traceback tail, experimentPath, lastCheckpointPath, reported metrics, ..."
    )


class ElasticWorkers(ResultModel):
    """The worker range of an elastic train run."""

    min: int = Field(description="The fewest workers the run continues with.")
    max: int = Field(description="The most workers.")


class Result(ResultModel):
    """The one JSON document raydt prints (CLI) or returns (``raydt.run``): the seed's output, then raydt's."""

    status: Status = Field(
        description="success; partial: some trials failed but one finished, or the run was interrupted "
        "(exit 3); error: see error (exit 1, or 2 for an invalid spec, command line or data)."
    )
    results: Results = Field(description="What the run found: the seed's keys, then raydt's.")
    checkpoint_path: str | None = opt(
        "The best checkpoint's directory (it exists after the run); mode predict: the checkpoint that predicted."
    )
    cluster_status: ClusterStatus | None = opt("The Ray cluster the run used.")
    training_time: Number | None = opt("Seconds the training run or the search took.")
    mode: Mode | None = opt("The mode that ran.")
    error: ErrorInfo | None = opt("status error: what failed, and what to do about it.")
    warnings: list[str] | None = opt(
        "What needs attention: lowered concurrency, an autoscaler wait, how to resume, ..."
    )
    interrupted: bool | None = opt("Ctrl-C ended the run early; it can be resumed.")
    framework: str | None = opt("trainConfig.framework of the run.")
    experiment_path: str | None = opt("Ray's experiment directory (run snapshot, checkpoints).")
    log_file: str | None = opt("Ray's and the trainer's own output for this run (CLI only).")
    report_path: str | None = opt(
        "The experiment report (runConfig.report, raydt report): one self-contained HTML file; its figures are "
        "also PNGs beside it (reportFigures)."
    )
    report_figures: list[str] | None = opt("raydt report: the PNG of each figure (absolute paths).")
    num_workers: int | None = opt("Training workers per run.")
    elastic_workers: ElasticWorkers | None = opt("{min, max} of an elastic run.")
    resources_per_worker: dict[str, Number] | None = opt("Effective Ray resources per worker.")
    worker_failures: int | None = opt("Worker failures seen during the run.")
    restarts: int | None = opt(
        "Worker-group restarts from the latest checkpoint (train mode): after worker failures and after nodes "
        "drained for preemption (results.retries lists each)."
    )
    max_concurrent_trials: int | None = opt("Trials run at once (tune mode); lowered if trials outgrew the memory.")
    trials: list[TrialRow] | None = opt("Tune mode: one row per trial.")
    data: dict[str, Any] | None = opt(
        "dataConfig runs: what Ray Data prepared (once, before training): label, rawColumns, "
        "steps (with the columns each applied to), classes, numClasses, inputSize, rows {train, validation}, "
        "columns handed to Ray Train, pipelineFile (the fitted transform, copied into every checkpoint), "
        "materialized, prepareSeconds.",
    )
    tracking: TrackingInfo | None = opt(
        "runConfig.tracking: where the run was logged (MLflow: trackingUri, experiment, runId, localStore, "
        "nestedRuns, registeredModel); what could not be logged is in warnings."
    )
    endpoint: str | None = opt("mode serve: the served model's base URL (POST {endpoint}/predict).")
    serve: ServeInfo | None = opt(
        "mode serve: predict/healthz/metadata URLs, numReplicas, resourcesPerReplica, "
        "maxBatchSize, auth (whether a bearer token is required), replicas (Ray Serve's count by state).",
    )
    output: PredictOutput | None = opt("mode predict: where the predictions were written (path, format, files).")
    detached: bool | None = opt("raydt run --detach: the serve run continues in the background.")
    pid: int | None = opt("raydt run --detach: the background serve process.")
    deployments: list[Deployment] | None = opt(
        "raydt serve status: the running serve runs (foreground or detached): pid, port, endpoint, "
        "alive, healthy, replicas (Ray Serve's count by state, refreshed every 2 s).",
    )
    stopped: list[Deployment] | None = opt("raydt serve shutdown: the serve runs stopped.")
    updated: ServedModelInfo | None = opt(
        "raydt serve update: the model as it now answers (its new generation); the old one was drained."
    )
    valid: bool | None = opt("raydt validate: the spec is valid.")
    lasting_cluster: dict[str, Any] | None = opt(
        "raydt cluster up/down: the lasting local cluster: id, address, dashboardUrl, tokenSource (where the "
        "token is, never the token), head/worker resources, ports, headPid, processes [{pid, name}], "
        "rayTempDir, recordFile, loopbackOnly, python (the interpreter its processes run), warnings, idleStopS and "
        "idleWatcherPid (--idle-stop), runnerPid and runnerSocket (the warm runner; not with --no-warm); down adds "
        "stoppedPids and running: false. cluster status: history, the "
        "last events [{at, event: up | down, id, reason (down: the user, or --idle-stop's idle time)}]."
    )
    job_id: str | None = opt("raydt submit / jobs: the Ray Job's submission id.")
    address: str | None = opt("raydt submit / jobs: the Ray dashboard the job was sent to.")
    job_status: JobStatus | None = opt("raydt submit / jobs: Ray's status of the job when this was written.")
    job_stopped: bool | None = opt(
        "raydt jobs stop: whether the request stopped a running job (false: it had already ended; nothing stopped)."
    )
    job: JobRow | None = opt("raydt jobs status: the job.")
    jobs: list[JobRow] | None = opt("raydt jobs list: the cluster's submitted jobs, oldest first.")
    submission: Submission | None = opt("raydt submit: what travelled with the job.")
    manifests: K8sManifests | None = opt("raydt k8s --out: the file written and its documents (Kind/name).")
    plan: PlanInfo | None = opt(
        "raydt plan: the trials, the target, whether it fits, the wall-time estimate, the cost."
    )
    checks: list[Check] | None = opt("raydt doctor: the checks (name, status ok|warn|fail, found, fix).")
    causes: list[Cause] | None = opt("raydt explain: root causes, most likely first, with evidence (file, line).")
    sources: list[str] | None = opt(
        "raydt explain: the files read (result, logs, error.txt, ledger, post-mortems); from a bundle, BUNDLE:member."
    )
    bundle: BundleInfo | None = opt("raydt bundle: the .tar.gz written, what it holds, what was left out.")
    from_bundle: str | None = opt(
        "raydt explain / report on a bundle: the .tar.gz read (paths inside it are written BUNDLE:member)."
    )


class Document(Result):
    """The one builder of a result where it is made: status ``success`` unless set, the empty ``results`` unless
    given, every other key by its field name, so mypy (the pydantic plugin, extra keywords refused) checks each
    key; ``dump()`` is the JSON-ready dict (an empty ``warnings`` list is left out). Errors raised as exceptions
    become documents through ``results.error_result``."""

    status: Status = "success"
    results: Results = Field(default_factory=lambda: Results(num_trials=0, completed_trials=0))

    def model_post_init(self, context: Any) -> None:
        self.__pydantic_fields_set__.update({"status", "results"})  # printed even when left at their defaults

    def dump(self) -> dict[str, Any]:
        doc = super().dump()
        if doc.get("warnings") == []:
            del doc["warnings"]
        return doc
