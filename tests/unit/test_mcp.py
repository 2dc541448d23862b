"""The MCP server's parts without Ray: live progress parsing, the run registry (real subprocesses of a stand-in
for ``python -m raydt`` with the same process contract), the tools' documents and schemas, the skill file."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from raydt.api import schema as schema_document
from raydt.mcp import live, models
from raydt.mcp.runs import Registry
from raydt.mcp.tools import TOOLS, Toolbox
from tests.conftest import FIXTURES, ROOT, assert_seed_output, validate

FAKE = (sys.executable, str(FIXTURES / "fake_raydt.py"))
TUNE = {"mode": "tune", "config": {}, "tuneConfig": {"numSamples": 2, "searchSpace": {"lr": {"type": "uniform",
        "min": 0.1, "max": 0.2}}}}  # fmt: skip


def spec(name: str) -> dict[str, Any]:
    return {**TUNE, "runConfig": {"name": name}}


@pytest.fixture
def box(tmp_path: Path) -> Any:
    toolbox = Toolbox(schema=schema_document, registry=Registry(tmp_path / "runs", cli=FAKE, cwd=tmp_path))
    yield toolbox
    stopped = toolbox.registry.shutdown(grace_s=5)
    for pid in stopped:  # every process a test started is gone
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def check_run_document(doc: dict[str, Any]) -> None:
    validate(doc, models.run_document_schema())
    models.RunDocument.model_validate(doc)
    if doc.get("result") is not None:
        assert_seed_output(doc["result"])


def wait_end(box: Toolbox, run_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc, is_error = box.call("get_run", {"runId": run_id})
        assert not is_error, doc
        check_run_document(doc)
        if doc["state"] != "running":
            return doc
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still running after {timeout}s")


def test_live_progress_folds_the_line_log_into_trials_best_and_last_metrics() -> None:
    lines = [
        "[raydt    0.5s] spec x.json: mode tune; Ray's own output goes to /tmp/l.log",
        "[raydt    3.0s] running up to 2 trial(s) at once",
        "[raydt    5.1s] trial a_00000 (0 done, 2 running) epoch 1/4  val_loss=0.9  accuracy=0.5  (best val_loss=0.9)",
        "[raydt    6.2s] trial a_00001 (0 done, 2 running) epoch 2/4  val_loss=0.7  accuracy=0.61  (best val_loss=0.7)",
        "[raydt    7.0s] trial a_00000 finished after 4 epoch(s), val_loss=0.8",
        "[raydt    7.5s] trial a_00002 failed: USER_CODE_ERROR: boom",
        "Ray noise that is not the live view",
    ]
    got = live.parse(lines)
    assert got["elapsedS"] == 7.5 and got["lastLine"].startswith("trial a_00002 failed")
    assert (got["trialsDone"], got["trialsFailed"], got["trialsRunning"]) == (2, 1, 0)
    assert got["best"] == {"metric": "val_loss", "value": 0.7}
    assert got["iteration"] == {"unit": "epoch", "value": 2, "of": 4}
    assert got["lastMetrics"] == {"val_loss": 0.7, "accuracy": 0.61} and got["lastTrial"] == "a_00001"
    models.RunProgress.model_validate(got)


def test_live_tail_gives_each_whole_line_once_so_a_waiting_client_misses_no_event(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    log.write_text("[raydt    1.0s] running up to 2 trial(s) at once\nRay noise\n[raydt    2.0s] trial a (0 do")
    first, offset = live.tail(log, 0)
    assert first == ["running up to 2 trial(s) at once"]  # the half-written line waits for its end
    with log.open("a") as handle:
        handle.write("ne, 2 running) epoch 1/2  loss=0.5\n[raydt    2.1s] trial a finished after 2 epoch(s)\n")
    second, offset = live.tail(log, offset)
    assert second == ["trial a (0 done, 2 running) epoch 1/2  loss=0.5", "trial a finished after 2 epoch(s)"]
    assert live.tail(log, offset) == ([], offset) and offset == log.stat().st_size
    assert live.tail(tmp_path / "missing.log", 7) == ([], 7)


def test_live_progress_of_a_train_run_has_no_trial_counts() -> None:
    got = live.parse(["[raydt   9.0s] epoch 3/5  val_loss=0.31  accuracy=0.9  (best val_loss=0.31)  [ckpt]"])
    assert got["iteration"] == {"unit": "epoch", "value": 3, "of": 5}
    assert got["lastMetrics"] == {"val_loss": 0.31, "accuracy": 0.9} and "trialsDone" not in got
    assert live.parse([]) == {} and live.read(Path("/nonexistent/stderr.log")) == {}


def test_a_run_starts_at_once_reports_progress_and_ends_with_the_result(box: Toolbox) -> None:
    started = time.monotonic()
    doc, is_error = box.call("run", {"spec": spec("ok")})
    assert not is_error and doc["state"] == "running" and time.monotonic() - started < 2
    check_run_document(doc)
    spec_file = Path(doc["target"])
    assert spec_file.name == "spec.json" and json.loads(spec_file.read_text())["runConfig"]["name"] == "ok"
    end = wait_end(box, doc["runId"])
    assert end["state"] == "succeeded" and end["exitCode"] == 0 and end["result"]["status"] == "success"
    assert end["progress"]["trialsDone"] == 3 and end["progress"]["best"]["value"] == pytest.approx(1 / 3, 1e-3)
    listed, _ = box.call("list_runs", {})
    assert [r["runId"] for r in listed["runs"]] == [doc["runId"]] and "result" not in listed["runs"][0]


def test_a_second_run_is_refused_while_one_runs_and_cancel_gives_a_partial_result(box: Toolbox) -> None:
    first, _ = box.call("run", {"spec": spec("endless")})
    refused, is_error = box.call("run", {"spec": spec("ok")})
    assert is_error and refused["error"]["code"] == "RUN_IN_PROGRESS" and first["runId"] in refused["error"]["hint"]
    assert_seed_output(refused)
    time.sleep(0.5)
    cancelled, is_error = box.call("cancel_run", {"runId": first["runId"], "timeoutS": 10})
    assert not is_error and cancelled["state"] == "cancelled", cancelled
    assert cancelled["result"]["status"] == "partial" and cancelled["exitCode"] == 3
    check_run_document(cancelled)
    again, is_error = box.call("cancel_run", {"runId": first["runId"]})  # already ended: returned as it is
    assert not is_error and again["state"] == "cancelled"
    second, is_error = box.call("run", {"spec": spec("ok")})  # the machine is free again
    assert not is_error and wait_end(box, second["runId"])["state"] == "succeeded"


def test_a_run_that_dies_without_a_result_is_a_failed_run_with_its_stderr(box: Toolbox) -> None:
    doc, _ = box.call("run", {"spec": spec("crash")})
    end = wait_end(box, doc["runId"])
    assert end["state"] == "failed" and end["exitCode"] == 1
    error = end["result"]["error"]
    assert error["code"] == "RUN_FAILED" and "RuntimeError: boom" in error["details"]["stderrTail"]


def test_a_run_that_fails_with_raydts_error_document_returns_that_document(box: Toolbox) -> None:
    doc, _ = box.call("run", {"spec": spec("fails")})
    end = wait_end(box, doc["runId"])
    assert end["state"] == "failed" and end["exitCode"] == 1
    assert end["result"]["status"] == "error" and end["result"]["mode"] == "tune"
    error = end["result"]["error"]  # the run's own error, not RUN_FAILED
    assert (error["code"], error["message"]) == ("USER_CODE_ERROR", "the trainer raised ZeroDivisionError")
    later, is_error = box.call("run", {"spec": spec("ok")})  # the server took the failure and runs the next
    assert not is_error and wait_end(box, later["runId"])["state"] == "succeeded"


def test_an_earlier_servers_runs_are_listed_from_disk(box: Toolbox, tmp_path: Path) -> None:
    doc, _ = box.call("run", {"spec": spec("ok")})
    wait_end(box, doc["runId"])
    later = Toolbox(schema=schema_document, registry=Registry(tmp_path / "runs", cli=FAKE, cwd=tmp_path))
    found, is_error = later.call("get_run", {"runId": doc["runId"]})
    assert not is_error and found["state"] == "succeeded" and found["result"]["status"] == "success"
    assert later.registry.active() is None


def test_server_shutdown_stops_its_runs_by_pid(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "runs", cli=FAKE, cwd=tmp_path)
    doc = registry.start("run", "", spec=spec("endless"))
    time.sleep(0.3)
    assert registry.shutdown(grace_s=5) == [doc["pid"]]
    assert registry.document(doc["runId"])["state"] == "cancelled"


def test_bad_input_is_the_clis_error_document_with_every_issue() -> None:
    box = Toolbox(schema=schema_document, registry=Registry(Path("/nonexistent-raydt-runs"), cli=FAKE))
    doc, is_error = box.call("validate_spec", {"spec": {"mode": "tune", "config": {}, "tuneConfig": {"numSamples": 0}}})
    assert is_error and doc["error"]["code"] == "SPEC_INVALID"
    assert doc["error"]["issues"][0] | {"hint": ""} == {"path": "tuneConfig.numSamples", "rule": "must be >= 1",
                                                         "value": 0, "hint": ""}  # fmt: skip
    refused, is_error = box.call("run", {"spec": {"mode": "tune", "config": {}, "tuneConfig": {"numSamples": 0}}})
    assert is_error and refused == doc  # run validates first: the same document, and nothing started
    args, is_error = box.call("cancel_run", {"runId": "x", "timeoutS": 0, "force": True})
    assert is_error and args["error"]["code"] == "USAGE"
    assert {i["path"] for i in args["error"]["issues"]} == {"timeoutS", "force"}
    typed, _ = box.call("validate_spec", {"spec": 5})
    assert [i["path"] for i in typed["error"]["issues"]] == ["spec"]
    missing, is_error = box.call("get_run", {"runId": "20260101-000000-abcdef"})
    assert is_error and missing["error"]["code"] == "RUN_NOT_FOUND"
    served, is_error = box.call(
        "run", {"spec": {"mode": "serve", "config": {}, "serveConfig": {"checkpointPath": "."}}}
    )
    assert is_error and served["error"]["code"] in ("USAGE", "SPEC_INVALID")
    for document in (doc, args, typed, missing, served):
        assert_seed_output(document)


def test_predict_starts_raydt_predict_in_the_background_and_refuses_other_modes(box: Toolbox, tmp_path: Path) -> None:
    (tmp_path / "exp").mkdir()
    (tmp_path / "rows.csv").write_text("id,x\n1,0.5\n")
    wanted = {"mode": "predict", "config": {}, "runConfig": {"name": "ok"}, "predictConfig": {
        "experimentPath": str(tmp_path / "exp"), "data": {"format": "csv", "paths": str(tmp_path / "rows.csv")},
        "output": {"path": str(tmp_path / "scores")}}}  # fmt: skip
    doc, is_error = box.call("predict", {"spec": wanted})
    assert not is_error and (doc["state"], doc["command"]) == ("running", "predict")
    check_run_document(doc)
    assert json.loads(Path(doc["target"]).read_text())["mode"] == "predict"
    end = wait_end(box, doc["runId"])
    assert end["state"] == "succeeded" and end["command"] == "predict" and end["result"]["status"] == "success"
    refused, is_error = box.call("predict", {"spec": spec("other")})  # a tune spec
    assert is_error and refused["error"]["code"] == "USAGE" and "mode tune" in refused["error"]["message"]
    assert "run tool" in refused["error"]["hint"]
    bad, is_error = box.call("predict", {"spec": {**wanted, "predictConfig": {}}})
    assert is_error and bad["error"]["code"] == "SPEC_INVALID"  # validated first: nothing starts
    for document in (refused, bad):
        assert_seed_output(document)
    assert [r["runId"] for r in box.call("list_runs", {})[0]["runs"]] == [doc["runId"]]


def test_a_spec_path_is_validated_as_raydt_validate_does() -> None:
    box = Toolbox(schema=schema_document, registry=Registry(Path("/nonexistent-raydt-runs"), cli=FAKE, cwd=ROOT))
    doc, is_error = box.call("validate_spec", {"spec": str(ROOT / "examples/seed-tune.json")})
    assert not is_error and doc == {"status": "success", "results": {"numTrials": 0, "completedTrials": 0},
                                    "mode": "tune", "valid": True}  # fmt: skip
    gone, is_error = box.call("validate_spec", {"spec": "no/such/spec.json"})
    assert is_error and gone["error"]["code"] == "SPEC_FILE"


def test_tool_schemas_come_from_the_models_and_stay_small() -> None:
    from raydt.mcp import server
    from raydt.spec import schemas

    tools = {t.name: t for t in server.tool_list(Toolbox(schema=schema_document))}
    assert set(tools) == set(TOOLS)
    spec_arg = tools["run"].input_schema["properties"]["spec"]["anyOf"][0]
    assert set(spec_arg["properties"]) == set(schemas.input_schema()["properties"])
    assert tools["cancel_run"].input_schema["properties"]["timeoutS"]["maximum"] == 600
    assert tools["get_run"].input_schema["required"] == ["runId"]
    for tool in tools.values():
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        assert "One run at a time" in tool.description or tool.name not in ("run", "resume_run")
    size = len(json.dumps([t.model_dump(by_alias=True, exclude_none=True) for t in tools.values()]))
    assert size < 60_000, size  # tools/list lands in an agent's context


def test_resources_are_the_examples_the_schemas_and_the_skill() -> None:
    from raydt.mcp import server

    box = Toolbox(schema=schema_document)
    table = server.resource_table()
    assert {"raydt://schema/input", "raydt://schema/output", "raydt://skill"} <= set(table)
    examples = {uri for uri in table if uri.startswith("raydt://examples/")}
    files = [p for p in (ROOT / "examples").rglob("*") if p.suffix in (".json", ".yaml", ".yml", ".py")]
    assert examples == {f"raydt://examples/{p.relative_to(ROOT / 'examples').as_posix()}" for p in files}
    assert "raydt://examples/seed-tune.json" in examples
    assert json.loads(server.read_resource_text(box, "raydt://examples/seed-tune.json"))["kind"] == "skill"
    assert json.loads(server.read_resource_text(box, "raydt://schema/input"))["title"] == "raydt spec"
    with pytest.raises(ValueError, match="unknown resource"):
        server.read_resource_text(box, "raydt://nope")


def test_the_skill_file_has_the_seed_format_and_a_valid_example() -> None:
    import subprocess

    from raydt import api
    from raydt.spec import schemas

    text = (ROOT / "src/raydt/SKILL.md").read_text()
    assert text.startswith("---\nname: ray-distributed-trainer\n")
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings == ["Overview", "Capabilities", "Target Processes", "Tools and Libraries", "Input Schema",
                        "Output Schema", "Usage Example"]  # fmt: skip
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S)]
    given_in, given_out, example = blocks
    real_in, real_out = schemas.input_schema(), schemas.output_schema()
    assert set(given_in["properties"]) <= set(real_in["properties"])
    assert set(given_out["properties"]) <= set(real_out["properties"])
    assert api.validate(example).mode == "tune"
    printed = subprocess.run([sys.executable, "-m", "raydt", "skill"], capture_output=True, text=True, check=True)
    assert printed.stdout == text


def test_cluster_status_is_refused_while_a_run_runs_unless_given_an_address(box: Toolbox) -> None:
    doc, _ = box.call("run", {"spec": spec("endless")})
    refused, is_error = box.call("cluster_status", {})
    assert is_error and refused["error"]["code"] == "RUN_IN_PROGRESS"
    box.call("cancel_run", {"runId": doc["runId"], "timeoutS": 10})
    assert os.path.exists(doc["stderrLog"])


def test_submit_job_and_job_status_are_the_clis_documents(tmp_path: Path) -> None:
    from tests.conftest import free_port

    real_cli = Registry(tmp_path / "runs", cwd=ROOT)  # `raydt submit`, `raydt jobs status` as they are
    box = Toolbox(schema=schema_document, registry=real_cli)
    closed = f"http://127.0.0.1:{free_port()}"
    train = {"mode": "train", "config": {"numWorkers": 1}, "trainConfig": {"framework": "pytorch", "epochs": 1}}
    submitted, is_error = box.call("submit_job", {"spec": train, "address": closed})
    assert is_error and submitted["error"]["code"] == "JOBS_UNREACHABLE", submitted
    status, is_error = box.call("job_status", {"jobId": "raydt-x", "address": closed})
    assert is_error and status["error"]["code"] == "JOBS_UNREACHABLE", status
    invalid, is_error = box.call("submit_job", {"spec": {"mode": "train", "config": {"numWorkers": 0}}})
    assert is_error and invalid["error"]["code"] == "SPEC_INVALID"  # validated here: nothing contacted
    for doc in (submitted, status, invalid):
        assert_seed_output(doc)


def test_doctor_explain_and_report_are_the_clis_documents(tmp_path: Path) -> None:
    import shutil

    box = Toolbox(schema=schema_document, registry=Registry(tmp_path / "runs", cwd=ROOT))
    checked, _ = box.call("doctor", {})
    names = {c["name"] for c in checked["checks"]}
    assert {"python", "ray"} <= {n.split(" ")[0] for n in names}, names  # the machine checks, no Ray started
    assert all(c["status"] in ("ok", "warn", "fail") for c in checked["checks"])
    log = tmp_path / "oom.log"  # a real log of Ray's memory monitor killing a training worker
    shutil.copy(ROOT / "tests/fixtures/explain/ray_oom_killer.log", log)
    explained, is_error = box.call("explain", {"path": str(log)})
    assert not is_error and explained["causes"][0]["code"] == "OUT_OF_MEMORY", json.dumps(explained)[:3000]
    missing, is_error = box.call("report", {"experimentPath": str(tmp_path / "nothing-here")})
    assert is_error and missing["error"]["code"] == "USAGE", missing
    for doc in (checked, explained, missing):
        assert_seed_output(doc)
