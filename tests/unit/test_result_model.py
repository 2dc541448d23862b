"""The result model: every document raydt prints passes through it once; `raydt schema output` comes from it."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from raydt import cli, results
from raydt.errors import SpecError, SpecIssue, UsageError
from raydt.results import model
from tests.conftest import SEED_OUTPUT, assert_seed_output

SRC = Path(__file__).resolve().parents[2] / "src" / "raydt"

CLUSTER = {
    "numNodes": 1,
    "totalCpu": 2.0,
    "totalGpu": 0.0,
    "availableCpu": 2.0,
    "availableGpu": 0.0,
    "totalMemoryBytes": 8_000_000_000,
    "rayVersion": "2.60.0",
    "nodes": [
        {
            "nodeId": "abc",
            "address": "127.0.0.1",
            "isHead": True,
            "cpu": 2.0,
            "gpu": 0.0,
            "memoryBytes": 8_000_000_000,
            "objectStoreMemoryBytes": 1_000_000_000,
            "customResources": {},
        }
    ],
    "autoscaler": None,
}
TRAIN = {
    "status": "success",
    "results": {
        "bestConfig": {"lr": 0.01, "batchSize": 32},
        "bestMetric": 0.25,
        "numTrials": 1,
        "completedTrials": 1,
        "metric": "val_loss",
        "metricMode": "min",
        "bestIteration": 3,
        "iterations": 3,
        "bestMetrics": {"val_loss": 0.25, "epoch": 3},
        "finalMetrics": {"val_loss": 0.25, "epoch": 3},
        "retries": [{"code": "WORKER_DIED", "error": "rank 0: ActorDiedError"}],
    },
    "clusterStatus": CLUSTER,
    "trainingTime": 12.5,
    "mode": "train",
    "framework": "pytorch",
    "experimentPath": "/tmp/x/exp",
    "numWorkers": 2,
    "elasticWorkers": {"min": 1, "max": 2},
    "resourcesPerWorker": {"CPU": 1.0},
    "workerFailures": 1,
    "restarts": 1,
    "checkpointPath": "/tmp/x/exp/checkpoint_000002",
    "logFile": "/tmp/x/logs/run.log",
}
TUNE_ROW = {
    "trialId": "a",
    "config": {"lr": 0.01},
    "status": "ERROR",
    "iterations": 0,
    "lastMetrics": {"val_loss": None},
    "bestMetric": None,
    "error": {"code": "USER_CODE_ERROR", "class": "ValueError", "message": "boom", "traceback": ["x"]},
}
SERVE = {
    "status": "success",
    "results": {"numTrials": 0, "completedTrials": 0},
    "mode": "serve",
    "checkpointPath": "/tmp/ckpt",
    "clusterStatus": {**CLUSTER, "autoscaler": {"version": "v1", "nodeTypes": ["cpu"], "source": "detected"}},
    "endpoint": "http://127.0.0.1:8000",
    "serve": {
        "predict": "http://127.0.0.1:8000/predict",
        "healthz": "http://127.0.0.1:8000/healthz",
        "metadata": "http://127.0.0.1:8000/metadata",
        "numReplicas": {"min": 1, "max": 2, "targetOngoingRequests": 2.0},
        "resourcesPerReplica": {"CPU": 1.0, "GPU": 0.0},
        "maxBatchSize": 1,
        "auth": False,
        "replicas": {"RUNNING": 1},
    },
    "detached": True,
    "pid": 1234,
}
STATUS = {
    "status": "success",
    "results": {"numTrials": 0, "completedTrials": 0},
    "mode": "serve",
    "deployments": [{"pid": 1, "port": 8000, "logFile": None, "stateFile": "/s", "alive": True, "healthy": False}],
}


@pytest.mark.parametrize("doc", [TRAIN, SERVE, STATUS], ids=["train", "serve", "serve-status"])
def test_documents_of_every_kind_pass_unchanged_and_satisfy_both_schemas(doc: dict[str, Any]) -> None:
    out = results.finalize(doc)
    assert out == doc and json.dumps(out, sort_keys=True) == json.dumps(doc, sort_keys=True)
    assert_seed_output(out)


def test_the_seeds_keys_come_first_and_absent_keys_stay_absent() -> None:
    out = results.finalize({"mode": "cluster", "results": results.empty_results(), "status": "success"})
    assert list(out) == ["status", "results", "mode"]  # no null for checkpointPath, clusterStatus, ...
    assert list(results.finalize(TRAIN))[:5] == ["status", "results", "checkpointPath", "clusterStatus", "trainingTime"]


def test_numbers_keep_their_json_type() -> None:
    doc = {**TRAIN, "results": {**TRAIN["results"], "bestMetric": 1}, "trainingTime": 2}
    out = results.finalize(doc)
    assert type(out["results"]["bestMetric"]) is int and type(out["trainingTime"]) is int
    assert type(out["clusterStatus"]["totalCpu"]) is float


def test_nulls_are_kept_only_where_documented() -> None:
    row = results.finalize({**TRAIN, "trials": [TUNE_ROW]})["trials"][0]
    assert row["bestMetric"] is None and row["lastMetrics"] == {"val_loss": None}
    assert results.finalize(TRAIN)["clusterStatus"]["autoscaler"] is None
    assert results.problems({**TRAIN, "checkpointPath": None}) == [
        "checkpointPath: null is not allowed: leave the key out, or give a value"
    ]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"bestMetirc": 0.1}, "results.bestMetirc"),  # an undocumented key in results
        ({"numTrials": "1"}, "results.numTrials"),  # a string is not an integer
        ({"bestMetric": True}, "results.bestMetric"),  # a boolean is not a number
        ({"endReason": "DONE"}, "results.endReason"),  # not one of the enum
    ],
)
def test_an_undocumented_or_mistyped_results_key_is_refused(change: dict[str, Any], where: str) -> None:
    found = results.problems({**TRAIN, "results": {**TRAIN["results"], **change}})
    assert found and all(p.startswith(where) for p in found), found


def test_an_undocumented_top_level_key_and_a_bad_trial_row_are_refused() -> None:
    assert results.problems({**TRAIN, "bestMetric": 0.1}) == ["bestMetric: Extra inputs are not permitted"]
    assert results.problems({**TRAIN, "numWorkers": 2.0})[0].startswith("numWorkers:")
    bad_row = {**TUNE_ROW, "status": "DONE", "error": {**TUNE_ROW["error"], "cls": "X"}}
    found = results.problems({**TRAIN, "trials": [bad_row]})
    assert any(p.startswith("trials.0.status") for p in found) and any(
        p.startswith("trials.0.error.cls") for p in found
    )


def test_results_must_carry_the_two_counts() -> None:
    assert results.problems({"status": "success", "results": {"bestMetric": 0.1}}) == [
        "results.numTrials: Field required",
        "results.completedTrials: Field required",
    ]


def test_a_refused_document_becomes_an_internal_error_that_keeps_it_whole() -> None:
    doc = {**TRAIN, "bestMetric": 0.1}
    out, code = results.finalize_with_code(doc, 0)
    assert out["status"] == "error" and code == 1 and results.exit_code(out) == 1
    assert (
        out["error"]["code"] == "INTERNAL" and "bestMetric: Extra inputs are not permitted" in out["error"]["message"]
    )
    assert out["error"]["details"] == {"problems": ["bestMetric: Extra inputs are not permitted"], "result": doc}
    assert out["results"] == {"numTrials": 0, "completedTrials": 0}
    assert_seed_output(out)


def test_the_cli_prints_a_refused_document_as_that_internal_error() -> None:
    stream = io.StringIO()
    assert cli.emit({**SERVE, "replicas": 2}, 0, stream) == 1
    printed = json.loads(stream.getvalue())
    assert printed["error"]["code"] == "INTERNAL" and printed["error"]["details"]["result"]["replicas"] == 2


def test_error_results_carry_the_error_and_the_empty_skeleton() -> None:
    err = SpecError([SpecIssue("config.numWorkers", "must be >= 1", 0, "Set config.numWorkers to 1 or more.")])
    out = results.error_result(err)
    assert out["results"] == results.empty_results() == {"numTrials": 0, "completedTrials": 0}
    assert out["error"]["issues"] == [
        {"path": "config.numWorkers", "rule": "must be >= 1", "value": 0, "hint": "Set config.numWorkers to 1 or more."}
    ]
    assert results.exit_code(out) == 2 and results.exit_code(results.error_result(UsageError("x"))) == 2
    assert_seed_output(out)


def test_the_empty_skeleton_is_written_once_in_the_source() -> None:
    literal = '"numTrials": 0'
    holders = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py") if literal in p.read_text()]
    assert holders == ["results/document.py"]


# -- the schema ----------------------------------------------------------------------------------------------


def _walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every documented key of the schema (property name path, its schema)."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            found.append((f"{path}.{name}", sub))
            found += _walk(sub, f"{path}.{name}")
        for key in ("items", "anyOf"):
            subs = node.get(key)
            for sub in subs if isinstance(subs, list) else [subs] if subs else []:
                found += _walk(sub, path)
    return found


def test_the_output_schema_is_generated_from_the_model_and_documents_every_key() -> None:
    schema = results.output_schema()
    text = json.dumps(schema)
    assert "$ref" not in text and '"title": "' not in text.replace('"title": "raydt result"', "")
    keys = _walk(schema)
    assert len(keys) > 80
    undocumented = [path for path, sub in keys if not sub.get("description")]
    assert not undocumented, undocumented
    assert set(schema["properties"]) == {f.alias for f in model.Result.model_fields.values()}
    assert set(schema["properties"]["results"]["properties"]) == {f.alias for f in model.Results.model_fields.values()}
    assert schema["properties"]["results"]["required"] == ["numTrials", "completedTrials"]
    assert schema["properties"]["trials"]["items"]["properties"]["error"]["required"] == [
        "code",
        "class",
        "message",
        "traceback",
    ]
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_schema_and_the_model_agree_on_what_is_refused() -> None:
    schema = results.output_schema()
    for bad in (
        {**TRAIN, "bestMetric": 0.1},
        {**TRAIN, "checkpointPath": None},
        {**TRAIN, "results": {**TRAIN["results"], "numTrials": 1.5}},
        {**TRAIN, "clusterStatus": {**CLUSTER, "nodes": [{"cpu": "2"}]}},
    ):
        assert results.problems(bad)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_a_seed_only_document_is_a_result() -> None:
    doc = {"status": "partial", "results": {"bestConfig": {}, "bestMetric": 1.5, "numTrials": 3, "completedTrials": 2}}
    jsonschema.validate(doc, SEED_OUTPUT)
    assert results.finalize(doc) == doc


def test_raydt_schema_output_prints_the_generated_schema() -> None:
    stream = io.StringIO()
    with redirect_stdout(stream):
        assert cli.main(["schema", "output"]) == 0
    assert json.loads(stream.getvalue()) == results.output_schema()
