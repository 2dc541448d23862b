"""JSON Schemas for ``raydt schema``: the seed's contract plus raydt's documented extensions."""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

from raydt.registry import FRAMEWORKS
from raydt.spec.model import Spec

_num = {"type": "number"}
_int = {"type": "integer"}
_str = {"type": "string"}

OUTPUT_EXTRAS: dict[str, Any] = {
    "mode": {"type": "string", "enum": ["train", "tune", "cluster", "serve"], "description": "The mode that ran."},
    "endpoint": {**_str, "description": "mode serve: the served model's base URL (POST {endpoint}/predict)."},
    "detached": {"type": "boolean", "description": "raydt run --detach: the serve run continues in the background."},
    "pid": {**_int, "description": "raydt run --detach: the background serve process."},
    "deployments": {
        "type": "array",
        "description": "raydt serve status: the running serve runs (foreground or detached): pid, port, endpoint, "
        "alive, healthy, replicas (Ray Serve's count by state, refreshed every 2 s).",
    },
    "stopped": {"type": "array", "description": "raydt serve shutdown: the serve runs stopped."},
    "serve": {
        "type": "object",
        "description": "mode serve: predict/healthz/metadata URLs, numReplicas, resourcesPerReplica, "
        "maxBatchSize, auth (whether a bearer token is required), replicas (Ray Serve's count by state).",
    },
    "data": {
        "type": "object",
        "description": "dataConfig runs: what Ray Data prepared (once, before training): label, rawColumns, "
        "steps (with the columns each applied to), classes, numClasses, inputSize, rows {train, validation}, "
        "columns handed to Ray Train, pipelineFile (the fitted transform, copied into every checkpoint), "
        "materialized, prepareSeconds.",
    },
    "framework": {**_str, "description": "trainConfig.framework of the run."},
    "experimentPath": {**_str, "description": "Ray's experiment directory (run snapshot, checkpoints)."},
    "logFile": {**_str, "description": "Ray's and the trainer's own output for this run (CLI only)."},
    "numWorkers": {**_int, "description": "Training workers per run."},
    "resourcesPerWorker": {"type": "object", "description": "Effective Ray resources per worker."},
    "workerFailures": {**_int, "description": "Worker failures seen during the run."},
    "restarts": {**_int, "description": "Worker-group restarts from the latest checkpoint (train mode)."},
    "elasticWorkers": {"type": "object", "description": "{min, max} of an elastic run."},
    "interrupted": {"type": "boolean", "description": "Ctrl-C ended the run early; it can be resumed."},
    "maxConcurrentTrials": {**_int, "description": "Trials run at once (tune mode)."},
    "trials": {
        "type": "array",
        "description": "Tune mode: one row per trial.",
        "items": {
            "type": "object",
            "properties": {
                "trialId": _str,
                "config": {"type": "object"},
                "status": {"type": "string", "enum": ["TERMINATED", "ERROR", "INTERRUPTED"]},
                "iterations": _int,
                "lastMetrics": {"type": "object"},
                "bestMetric": {"type": ["number", "null"]},
                "stoppedEarly": {"type": "boolean"},
                "error": {"type": "object"},
            },
        },
    },
    "warnings": {"type": "array", "items": _str},
    "valid": {"type": "boolean", "description": "raydt validate: the spec is valid."},
    "error": {
        "type": "object",
        "required": ["code", "message", "hint"],
        "properties": {
            "code": {**_str, "description": "Stable code, e.g. SPEC_INVALID, USER_CODE_ERROR."},
            "message": _str,
            "hint": _str,
            "issues": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"path": _str, "rule": _str, "value": {}, "hint": _str},
                },
            },
            "details": {"type": "object"},
        },
    },
}
RESULTS_EXTRAS: dict[str, Any] = {
    "metric": {**_str, "description": "The metric bestMetric refers to."},
    "metricMode": {"type": "string", "enum": ["min", "max"]},
    "bestIteration": {**_int, "description": "The report (epoch) bestMetric comes from, 1-based."},
    "iterations": {**_int, "description": "Reports made by the run."},
    "bestMetrics": {"type": "object", "description": "Every metric of the best report."},
    "finalMetrics": {"type": "object", "description": "Every metric of the last report."},
    "failedTrials": _int,
    "interruptedTrials": {
        **_int,
        "description": "Trials a stop signal (Ctrl-C) cut off before they finished; `raydt resume` continues them.",
    },
    "endReason": {
        "type": "string",
        "enum": ["ALL_TRIALS_DONE", "GOAL_REACHED", "TIME_BUDGET", "INTERRUPTED"],
        "description": "Why the search ended: every trial ran, tuneConfig.stopAt was reached, "
        "tuneConfig.timeBudgetS was spent, or it was interrupted.",
    },
    "bestTrialId": {**_str, "description": "The trial bestMetric comes from."},
    "bestTrialStatus": {
        "type": "string",
        "enum": ["TERMINATED", "INTERRUPTED"],
        "description": "Whether that trial finished (TERMINATED) or was cut off (INTERRUPTED).",
    },
    "retries": {
        "type": "array",
        "description": "Failures raydt retried from the last checkpoint, each with its code and error "
        "(worker or node deaths; an exception from user code is not retried).",
    },
    "searchAlgorithm": {**_str, "description": "The searcher that ran (registry name)."},
    "scheduler": {**_str, "description": "The scheduler that ran (registry name)."},
    "searchChoice": {**_str, "description": "Why that searcher/scheduler."},
}
CLUSTER_EXTRAS: dict[str, Any] = {
    "availableCpu": _num,
    "availableGpu": _num,
    "totalMemoryBytes": _int,
    "rayVersion": _str,
    "address": {**_str, "description": "The address connected to, or 'embedded'."},
    "autoscaler": {
        "type": ["object", "null"],
        "description": "The cluster's autoscaler, or null when it cannot add nodes. Requests the current "
        "nodes cannot hold then wait up to runConfig.pendingTimeoutS instead of failing at once.",
        "properties": {
            "version": {"type": "string", "enum": ["v1", "v2", "declared"]},
            "nodeTypes": {
                "type": "array",
                "items": _str,
                "description": "Configured node types of its nodes so far (v1).",
            },
            "source": {"type": "string", "enum": ["detected", "spec"]},
        },
    },
    "nodes": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "nodeId": _str,
                "address": _str,
                "isHead": {"type": "boolean"},
                "cpu": _num,
                "gpu": _num,
                "memoryBytes": _int,
                "objectStoreMemoryBytes": _int,
                "customResources": {"type": "object"},
            },
        },
    },
}


@cache
def seed(kind: str) -> dict[str, Any]:
    """The seed's own input or output schema, verbatim."""
    text = resources.files("raydt.spec").joinpath(f"seed_{kind}_schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def input_schema() -> dict[str, Any]:
    """The input schema: the model's JSON Schema (a superset of the seed's), with registry names."""
    schema = Spec.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "raydt spec"
    schema["description"] = (
        "A raydt spec (the ray-distributed-trainer skill's input). The seed's usage-example wrapper "
        '{"kind": "skill", "skill": {"name": "ray-distributed-trainer", "context": SPEC}} is accepted too. '
        f"Frameworks available in this version: {', '.join(FRAMEWORKS)}."
    )
    return schema


def output_schema() -> dict[str, Any]:
    """The output schema: the seed's, with raydt's extra keys documented."""
    schema = copy.deepcopy(seed("output"))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "raydt result"
    schema["properties"].update(copy.deepcopy(OUTPUT_EXTRAS))
    schema["properties"]["results"]["properties"].update(copy.deepcopy(RESULTS_EXTRAS))
    schema["properties"]["clusterStatus"]["properties"].update(copy.deepcopy(CLUSTER_EXTRAS))
    return schema
