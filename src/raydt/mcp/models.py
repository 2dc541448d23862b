"""The MCP tools' arguments and the run document, as models: their JSON Schemas are the tools' input and
output schemas (``spec`` arguments take raydt's own input schema, the result raydt's output schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from raydt.errors import OptionError, SpecIssue
from raydt.results import output_schema


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


class SpecArgs(Args):
    spec: dict[str, Any] | str = Field(
        description="The spec: a JSON object (raydt's input schema, or the skill wrapper {kind: skill, skill: "
        "{context: SPEC}}), or the path of a .json/.yaml/.yml file on the server's machine (relative paths: "
        "the server's working directory)."
    )


class SchemaArgs(Args):
    kind: Literal["input", "output"] = Field(
        "input", description="input: the spec's JSON Schema; output: the result document's JSON Schema."
    )


class RunIdArgs(Args):
    run_id: str = Field(alias="runId", description="The run id that run or resume_run returned.")


class GetRunArgs(RunIdArgs):
    wait_s: float = Field(
        0.0, alias="waitS", ge=0, le=300,
        description="Seconds to wait for the run to end before answering (default 0: answer at once; keep it "
        "below the client's request timeout); while waiting, the server sends progress notifications when the "
        "call carries a progressToken.",
    )  # fmt: skip


class CancelArgs(RunIdArgs):
    timeout_s: float = Field(
        60.0, alias="timeoutS", ge=1, le=600,
        description="Seconds to wait for the clean stop (Ray Tune saves its trials) before forcing it; default 60.",
    )  # fmt: skip


class ResumeArgs(Args):
    experiment_path: str = Field(
        alias="experimentPath", description="The experiment folder: the experimentPath of an earlier result."
    )


class ContinueArgs(SpecArgs):
    experiment_path: str = Field(
        alias="experimentPath", description="The earlier search's experiment folder (experimentPath of its result)."
    )
    init_from_best: bool = Field(
        False,
        alias="initFromBest",
        description="Start each new trial from the nearest earlier trial's checkpoint (only the search changed).",
    )


class AddressArgs(Args):
    address: str | None = Field(
        None, description="Ray address (host:6379, or the dashboard http://host:8265 for jobs); default: "
        "RAY_ADDRESS, else the cluster `raydt cluster up` started, else (cluster_status only) an embedded Ray."
    )  # fmt: skip


class SubmitArgs(SpecArgs, AddressArgs):
    pass


class PlanArgs(SpecArgs, AddressArgs):
    k8s: bool = Field(False, description="Plan on the KubeRay cluster `raydt k8s` would write (not with address).")
    probe: bool = Field(
        False, description="Time one trial's first iterations on the target (a real short run, seconds to minutes) "
        "for the wall-time estimate; refused while a run is running.",
    )  # fmt: skip


class DoctorArgs(AddressArgs):
    spec: dict[str, Any] | str | None = Field(
        None, description="Optional: a spec (object or file path) to check this environment against."
    )


class ExplainArgs(Args):
    path: str = Field(description="A failed or partial run: its experimentPath, its logFile, or a saved result JSON.")


class ReportArgs(Args):
    experiment_path: str = Field(
        alias="experimentPath", description="The experiment folder (a result's experimentPath)."
    )
    out: str | None = Field(None, description="Where to write the HTML (default: <experimentPath>/report/).")


class JobArgs(AddressArgs):
    job_id: str = Field(alias="jobId", description="The Ray Job's id (submit_job's jobId).")


class Best(BaseModel):
    metric: str = Field(description="The spec's metric.")
    value: Any = Field(description="Its best value so far, as the live view printed it.")


class Iteration(BaseModel):
    unit: str = Field(description="What the trainer counts: epoch, round, step, iter.")
    value: int = Field(description="The last reported one.")
    of: int | None = Field(None, description="How many the spec asks for (train: trainConfig.epochs).")


class RunProgress(BaseModel):
    """Live progress parsed from the run's live view; keys appear once the view has shown them."""

    elapsed_s: float | None = Field(None, alias="elapsedS", description="Seconds since the run's own start.")
    last_line: str | None = Field(None, alias="lastLine", description="The live view's last line.")
    trials_done: int | None = Field(None, alias="trialsDone", description="Tune: trials ended (any way).")
    trials_running: int | None = Field(None, alias="trialsRunning", description="Tune: trials running.")
    trials_failed: int | None = Field(None, alias="trialsFailed", description="Tune: trials that failed.")
    last_trial: str | None = Field(None, alias="lastTrial", description="Tune: the trial of the last report.")
    best: Best | None = Field(None, description="The best value of the spec's metric so far.")
    iteration: Iteration | None = Field(None, description="The last report's iteration.")
    last_metrics: dict[str, Any] | None = Field(None, alias="lastMetrics", description="The last report's metrics.")


class RunDocument(BaseModel):
    """What run, predict, get_run, cancel_run and resume_run return."""

    run_id: str = Field(alias="runId", description="Names the run in get_run, cancel_run.")
    state: Literal["running", "succeeded", "partial", "failed", "cancelled"] = Field(
        description="running; or how it ended: succeeded (status success), partial (a search stopped early), "
        "failed (status error), cancelled (cancel_run: a partial result, or INTERRUPTED before any trial)."
    )
    command: Literal["run", "predict", "resume"] = Field(
        description="raydt run SPEC, raydt predict SPEC or raydt resume DIR."
    )
    target: str = Field(description="The spec file (spec.json in the run's folder for a spec object) or folder.")
    pid: int = Field(description="The run's process.")
    started_at: str = Field(alias="startedAt", description="UTC, ISO 8601.")
    elapsed_s: float = Field(alias="elapsedS", description="Seconds from start to now, or to the end.")
    stderr_log: str = Field(alias="stderrLog", description="The run's live view (a file on the server).")
    progress: RunProgress = Field(description="Live progress (trials, best so far, last metrics).")
    exit_code: int | None = Field(None, alias="exitCode", description="Once ended: 0, 3 partial, 1, 2.")
    result: dict[str, Any] | None = Field(None, description="Once ended: the result document the command printed.")


def parse(model: type[Args], arguments: dict[str, Any]) -> Any:
    """A tool's arguments as its model; what the model refuses is an ``OptionError``, one issue per argument."""
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        by_argument: dict[str, SpecIssue] = {}
        for e in exc.errors():  # a union (spec: object | path) fails once per member: one issue per argument
            where = str(e["loc"][0]) if e["loc"] else "<arguments>"
            rule = (
                e["msg"]
                if where not in by_argument
                else f"{by_argument[where].rule}, or {e['msg'][0].lower()}{e['msg'][1:]}"
            )
            by_argument[where] = SpecIssue(where, rule, e.get("input"), "The tool's input schema lists its arguments.")
        raise OptionError(list(by_argument.values()), hint="Fix the arguments in error.issues.") from None


def args_schema(model: type[Args], spec_schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A tool's input schema; for a ``spec`` argument, the top level of ``spec_schema`` (raydt's input schema:
    the sections and their descriptions; the whole of it is one get_schema call away, and would weigh 38 kB
    in every tools/list)."""
    schema = model.model_json_schema(by_alias=True)
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    if spec_schema is not None and "spec" in schema["properties"]:
        path = {"type": "string", "description": "The path of a spec file (.json/.yaml/.yml)."}
        described = schema["properties"]["spec"]["description"]
        wrapper = {
            "type": "object",
            "required": ["kind", "skill"],
            "properties": {"kind": {"const": "skill"}, "skill": {"type": "object", "required": ["context"]}},
            "description": "The seed's skill wrapper: the spec in skill.context.",
        }
        schema["properties"]["spec"] = {"anyOf": [top_level(spec_schema), wrapper, path], "description": described}
    return schema


def run_document_schema() -> dict[str, Any]:
    """The run document's schema, its ``result`` being the top level of raydt's output schema."""
    schema = RunDocument.model_json_schema(by_alias=True)
    schema["properties"]["result"] = {
        "anyOf": [top_level(output_schema(), describe=False), {"type": "null"}],
        "description": schema["properties"]["result"]["description"],
    }
    return schema


def top_level(schema: dict[str, Any], *, describe: bool = True) -> dict[str, Any]:
    """``schema`` cut to its top level: each property's type (and enum), nested objects left open."""
    defs = schema.get("$defs", {})

    def brief(prop: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in prop:
            target = defs.get(prop["$ref"].rsplit("/", 1)[-1], {})
            out: dict[str, Any] = {"type": target.get("type", "object")}
            text = prop.get("description") or target.get("description")
        elif "anyOf" in prop:
            out = {"anyOf": [brief(p) for p in prop["anyOf"]]}
            text = prop.get("description")
        else:
            out = {k: prop[k] for k in ("type", "enum", "const") if k in prop}
            text = prop.get("description")
        if describe and text:
            out["description"] = text
        return out

    cut: dict[str, Any] = {"type": "object", "properties": {k: brief(v) for k, v in schema["properties"].items()}}
    if schema.get("required"):
        cut["required"] = schema["required"]
    if describe and schema.get("description"):
        cut["description"] = schema["description"]
    return cut
