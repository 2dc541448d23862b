"""The MCP tools: name, description (what an agent must know), argument model, handler. Independent of the
MCP SDK: ``call`` returns (JSON document, is_error), the server only wraps it.

Every document is one the CLI prints (``raydt validate``, ``raydt schema``, ``raydt run``'s result, ``raydt cluster
status``, ``raydt submit``, ``raydt jobs status``, ``raydt plan``), or the run document (``models.RunDocument``)
whose ``result`` is ``raydt run``'s. A bad argument or spec is the CLI's error document (code, message, hint,
issues with path, rule, value, hint) with is_error true. Nothing here imports Ray: runs, plans and cluster commands
are CLI subprocesses.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raydt import api, results
from raydt.errors import RaydtError, RunInProgressError, UsageError
from raydt.mcp import models
from raydt.mcp.cli_calls import address_flags, cli_document, spec_file, spec_source
from raydt.mcp.runs import Registry

_RUN_RULE = (
    " One run at a time: while a run is running, run, predict and resume_run are refused with error.code "
    "RUN_IN_PROGRESS (its runId is in error.hint); poll get_run or cancel_run it first."
)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[models.Args]
    handler: Callable[[Toolbox, Any], dict[str, Any]]
    output: str | None = None  # "result": raydt's output schema; "run": the run document's; None: none declared
    takes_spec: bool = False


#: ``raydt schema KIND``'s document (``api.schema``)
Schemas = Callable[[str], dict[str, Any]]


class Toolbox:
    """The tools over one run registry."""

    def __init__(self, registry: Registry | None = None, *, schema: Schemas = api.schema) -> None:
        self.registry = registry or Registry()
        self.schema = schema

    def call(self, name: str, arguments: dict[str, Any] | None) -> tuple[dict[str, Any], bool]:
        """Run a tool: (document, is_error). Never raises: a bug of ours is an INTERNAL error document."""
        tool = TOOLS.get(name)
        try:
            if tool is None:
                raise UsageError(f"unknown tool {name!r}", hint=f"The tools: {', '.join(TOOLS)}.")
            doc = tool.handler(self, models.parse(tool.args, arguments or {}))
        except RaydtError as err:
            return results.error_result(err), True
        except Exception as exc:  # the server survives its own bugs too
            bug = RaydtError(f"internal error: {type(exc).__name__}: {exc}")
            bug.details = {"traceback": traceback.format_exc().splitlines()[-15:]}
            return results.error_result(bug), True
        result = doc.get("result") if "runId" in doc else doc
        failed = isinstance(result, dict) and result.get("status") == results.ERROR
        return doc, failed and "runId" not in doc


def validate_spec(box: Toolbox, args: models.SpecArgs) -> dict[str, Any]:
    spec = api.validate(spec_source(args.spec))
    return results.finalize(results.Document(valid=True, mode=spec.mode).dump())


def get_schema(box: Toolbox, args: models.SchemaArgs) -> dict[str, Any]:
    return box.schema(args.kind)


def run(box: Toolbox, args: models.SpecArgs) -> dict[str, Any]:
    source = spec_source(args.spec)
    spec = api.validate(source)  # a bad spec is refused here, with every problem, before anything starts
    if spec.mode == "serve" or spec.serve_config is not None:
        raise UsageError(
            "run: a spec that serves does not end, so it is not run over MCP",
            hint="Start it with `raydt run SPEC --detach` and stop it with `raydt serve shutdown`.",
        )
    return _start(box, "run", source)


def predict(box: Toolbox, args: models.SpecArgs) -> dict[str, Any]:
    source = spec_source(args.spec)
    spec = api.validate(source)  # as run: a bad spec is refused with every problem, before anything starts
    if spec.mode != "predict":
        raise UsageError(
            f"predict runs specs of mode predict; this spec has mode {spec.mode}",
            hint="Start train, tune and cluster specs with the run tool, or set mode: predict.",
        )
    return _start(box, "predict", source)


def _start(box: Toolbox, command: str, source: str | dict[str, Any]) -> dict[str, Any]:
    """``raydt <command> SPEC`` in the background (a spec object is written to the run's folder first)."""
    if isinstance(source, dict):
        return box.registry.start(command, "", spec=source)
    return box.registry.start(command, str(Path(source).resolve()))


def get_run(box: Toolbox, args: models.GetRunArgs) -> dict[str, Any]:
    """The run document (``waitS`` is the server's: it polls this and sends progress notifications)."""
    return box.registry.document(args.run_id)


def list_runs(box: Toolbox, args: models.Args) -> dict[str, Any]:
    return {"runs": box.registry.documents()}


def cancel_run(box: Toolbox, args: models.CancelArgs) -> dict[str, Any]:
    return box.registry.cancel(args.run_id, args.timeout_s)


def resume_run(box: Toolbox, args: models.ResumeArgs) -> dict[str, Any]:
    from raydt import experiment

    folder = Path(args.experiment_path).expanduser().resolve()
    experiment.spec_for_resume(folder)  # not an experiment: the CLI's error, before anything starts
    return box.registry.start("resume", str(folder))


def continue_run(box: Toolbox, args: models.ContinueArgs) -> dict[str, Any]:
    """``raydt run SPEC --continue-from DIR`` in the background: the continued spec is built (and refused) here."""
    source = api.continued_source(spec_source(args.spec), args.experiment_path, init_from_best=args.init_from_best)
    return _start(box, "run", source)


def cluster_status(box: Toolbox, args: models.AddressArgs) -> dict[str, Any]:
    if args.address is None and box.registry.active() is not None:
        busy = box.registry.active()
        raise RunInProgressError(
            "cluster_status without an address starts a Ray of its own, and a run is running",
            hint=f"Pass the address of the run's cluster, or wait for run {busy.run_id if busy else ''} to end.",
        )
    return cli_document(box.registry, ["cluster", "status", "-q", *address_flags(args)])


def submit_job(box: Toolbox, args: models.SubmitArgs) -> dict[str, Any]:
    return cli_document(box.registry, ["submit", spec_file(box.registry, args.spec), *address_flags(args)])


#: seconds a plan may take: a probe is a short run on the target
PLAN_TIMEOUT_S = 600.0


def plan(box: Toolbox, args: models.PlanArgs) -> dict[str, Any]:
    if args.probe and box.registry.active() is not None:
        busy = box.registry.active()
        raise RunInProgressError(
            "plan with probe runs a short trial, and a run is running",
            hint=f"Plan without probe, or wait for run {busy.run_id if busy else ''} to end.",
        )
    flags = [*address_flags(args), *(["--k8s"] if args.k8s else []), *(["--probe"] if args.probe else [])]
    return cli_document(box.registry, ["plan", spec_file(box.registry, args.spec), *flags], PLAN_TIMEOUT_S)


def doctor(box: Toolbox, args: models.DoctorArgs) -> dict[str, Any]:
    spec = [spec_file(box.registry, args.spec, validate=False)] if args.spec is not None else []  # doctor reports it
    return cli_document(box.registry, ["doctor", "-q", *address_flags(args), *spec])


def explain(box: Toolbox, args: models.ExplainArgs) -> dict[str, Any]:
    return _document(*api.explain(args.path))  # reads files only: in this process


def report(box: Toolbox, args: models.ReportArgs) -> dict[str, Any]:
    return _document(*api.report(args.experiment_path, args.out))  # reads files only: in this process


def _document(doc: dict[str, Any], code: int) -> dict[str, Any]:
    """An API outcome as the document the CLI would print (checked by the result model)."""
    return results.finalize_with_code(doc, code)[0]


def job_status(box: Toolbox, args: models.JobArgs) -> dict[str, Any]:
    return cli_document(box.registry, ["jobs", "status", args.job_id, *address_flags(args)])


_SPEC_NOTE = " `spec` is an object (raydt's input schema; get_schema prints it) or a spec file path."
TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool(
            "validate_spec",
            "Check a spec without starting Ray, as `raydt validate`: {status: success, valid: "
            "true, mode}, or status error with error.code SPEC_INVALID / SPEC_FILE and error.issues (every "
            "problem at once: path, rule, value, hint) and isError true." + _SPEC_NOTE,
            models.SpecArgs,
            validate_spec,
            "result",
            True,
        ),
        Tool(
            "get_schema",
            "The JSON Schema of a spec (kind input, the default) or of a result document (output), as `raydt schema`.",
            models.SchemaArgs,
            get_schema,
        ),
        Tool(
            "run",
            "Start a run of a train, tune or cluster spec in the background (`raydt run SPEC` as a "
            "subprocess) and return at once with its runId and state running; then poll get_run (every few "
            "seconds) for progress and, once state is no longer running, the result. The spec is validated "
            "first: an invalid one is the validate_spec error, and nothing starts. Specs that serve are "
            "refused (they never end)." + _RUN_RULE + _SPEC_NOTE,
            models.SpecArgs,
            run,
            "run",
            True,
        ),
        Tool(
            "predict",
            "Predict every row of a mode predict spec's predictConfig.data with a trained checkpoint on Ray Data "
            "(`raydt predict SPEC` as a subprocess), in the background: returns at once with a runId, as run; "
            "get_run's result has output {path, format, files} and results.rowsIn/rowsOut/badRows/rowsPerSecond. "
            "Validated first, as run; other modes are refused (USAGE)." + _RUN_RULE + _SPEC_NOTE,
            models.SpecArgs,
            predict,
            None,  # run's document, whose schema run and get_run declare: not a third copy in tools/list
            True,
        ),
        Tool(
            "get_run",
            "A run's state (running, succeeded, partial, failed, cancelled), live progress (trials "
            "done/running/failed, best value of the metric so far, the last report's iteration and metrics; "
            "elapsedS in seconds) and, once it ended, `result`: the JSON `raydt run` printed (status success | "
            "partial | error, results, checkpointPath, error with code and hint). Answers at once, or with "
            "waitS after at most that many seconds (sooner when the run ends), sending progress notifications.",
            models.GetRunArgs,
            get_run,
            "run",
        ),
        Tool(
            "list_runs",
            "Every run this server's state folder knows, newest last, without their results (get_run has them).",
            models.Args,
            list_runs,
        ),
        Tool(
            "cancel_run",
            "Stop a run cleanly, as Ctrl-C does (SIGINT to its process): Ray Tune saves its "
            "trials and the result is status partial with the finished trials (state cancelled); waits up to "
            "timeoutS seconds (default 60), then forces it. A run that already ended is returned as it is. "
            "The experimentPath of a cancelled tune run can be given to resume_run.",
            models.CancelArgs,
            cancel_run,
            None,  # run's document, whose schema run and get_run declare: not another copy in tools/list
        ),
        Tool(
            "resume_run",
            "Continue an interrupted or partial experiment (`raydt resume DIR`) in the "
            "background: finished trials stay, the others continue. Returns at once with a runId, as run." + _RUN_RULE,
            models.ResumeArgs,
            resume_run,
            None,  # run's document, whose schema run and get_run declare: not another copy in tools/list
        ),
        Tool(
            "continue_run",
            "Run a changed search as a new experiment beside an earlier one (`raydt run SPEC --continue-from "
            "DIR`): named <old name>-contN, warm-started with every finished trial of the old one; with "
            "initFromBest (only the search changed) each new trial starts from the nearest old checkpoint. The "
            "result's results.continuedFrom lists what changed. Returns at once with a runId, as run." + _RUN_RULE,
            models.ContinueArgs,
            continue_run,
            None,  # run's document, whose schema run and get_run declare
            True,
        ),
        Tool(
            "cluster_status",
            "The Ray cluster's nodes and resources (`raydt cluster status`): clusterStatus "
            "with numNodes, totalCpu, totalGpu, nodes. Takes a few seconds; without an address and a lasting "
            "cluster it starts a short-lived Ray, so it is refused (RUN_IN_PROGRESS) while a run is running.",
            models.AddressArgs,
            cluster_status,
            "result",
        ),
        Tool(
            "submit_job",
            "Submit a spec to a running Ray cluster as a Ray Job (`raydt submit SPEC`): "
            "validated here first; returns the job id at once. Needs the dashboard address "
            "(http://host:8265) or a cluster `raydt cluster up` started." + _SPEC_NOTE,
            models.SubmitArgs,
            submit_job,
            "result",
            True,
        ),
        Tool("job_status", "A Ray Job's status (`raydt jobs status JOB`).", models.JobArgs, job_status, "result"),
        Tool(
            "plan",
            "What a train or tune run would do, without running it, as `raydt plan`: plan.target (embedded Ray, "
            "a running cluster, or with k8s the KubeRay cluster `raydt k8s` writes) with its CPUs, GPUs and memory; "
            "plan.trial {workers, resourcesPerWorker, trialResources}; numTrials; plan.concurrency {trialsAtOnce, "
            "limit, reason, memory}; plan.fit {fits, reason, hint}; plan.estimate {wallTimeS, basis probe | history "
            "| none}; plan.cost with config.costPerHour. A run that does not fit is status error, error.code "
            "DOES_NOT_FIT (isError)." + _SPEC_NOTE,
            models.PlanArgs,
            plan,
            None,  # a result document (raydt's output schema, as doctor's): not one more copy in tools/list
            True,
        ),
        Tool(
            "doctor",
            "Check this environment (and, given a spec, whether it can run that spec), as `raydt doctor`: "
            "checks [{name, status ok|warn|fail, found, fix}] — versions (on every node of a cluster), GPUs, "
            "/dev/shm, storage free and writable, ports, token auth, an exposed dashboard, the spec's extras. "
            "status error (isError) when a check fails; starts no Ray without an address or cluster.",
            models.DoctorArgs,
            doctor,
            "result",
            True,
        ),
        Tool(
            "explain",
            "Why a run failed or ended partial, as `raydt explain`: causes ordered by likelihood, each with "
            "code (OUT_OF_MEMORY, WORKER_DIED, PICKLING_ERROR, MODULE_NOT_FOUND_ON_WORKERS, ...), summary across "
            "trials, fix and evidence (file, line, text). Reads files only; takes seconds.",
            models.ExplainArgs,
            explain,
            "result",
        ),
        Tool(
            "report",
            "Write the experiment report, as `raydt report`: one self-contained HTML file and a PNG per "
            "figure; the document carries reportPath (the HTML's path on the server's machine) and reportFigures.",
            models.ReportArgs,
            report,
            "result",
        ),
    )
}
