"""``raydt bundle DIR``: what goes into the .tar.gz (no checkpoints unless asked), every secret form redacted in the
copies (never in the originals), and ``raydt explain`` / ``raydt report`` on the bundle in a fresh folder, with the
experiment deleted and no Ray session logs. Synthesized experiment folders, no Ray."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from raydt import api
from raydt.cli import main
from raydt.experiment import postmortem as pm
from tests.conftest import ROOT
from tests.integration.report_helper import synthesize_tune
from tests.unit.test_explain_folders import HEALTH_CHECK, train_folder, worker_log


def members(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


@pytest.fixture
def search(tmp_path: Path) -> Path:
    """A search's folder with a checkpoint, a pickle, the MLflow store, a report, a post-mortem and a log beside it."""
    exp = synthesize_tune(tmp_path / "results", trials=3, iterations=2)
    trial = sorted(exp.glob("trial_*"))[0]
    (trial / "checkpoint_000001").mkdir()
    (trial / "checkpoint_000001" / "model.pt").write_bytes(b"weights")
    (exp / "tuner.pkl").write_bytes(b"\x80\x04pickled")
    (exp / "mlflow.db").write_bytes(b"SQLite format 3\0")
    (exp / "mlartifacts").mkdir()
    (exp / "mlartifacts" / "big.bin").write_bytes(b"\0" * 10)
    (exp / "report").mkdir()
    (exp / "report" / "report.html").write_text("<html>report</html>")
    pm.write(exp, "00001abc", "RuntimeError: boom", [], pm.Where())
    logs = exp.parent / "logs"
    logs.mkdir()
    (logs / f"{exp.name}-20261201-000000-4242.log").write_text("the run's log\n")
    (logs / "other-run-20261201-000000-4243.log").write_text("another experiment's log\n")
    return exp


def test_a_bundle_holds_the_experiment_but_no_checkpoints_pickles_or_other_runs_logs(search: Path) -> None:
    doc, code = api.bundle(search, search.parent / "run.tar.gz")
    assert code == 0, doc
    info = doc["bundle"]
    got = members(Path(info["path"]))
    name = search.name
    postmortem = f"{name}/raydt_postmortem/00001abc-1"
    assert {"raydt_bundle.json", f"{name}/raydt_spec.json", f"{name}/raydt_trials.jsonl",
            f"{name}/report/report.html", f"logs/{name}-20261201-000000-4242.log",
            f"{postmortem}/error.txt", f"{postmortem}/node.json"} <= set(got)  # fmt: skip
    trial = sorted(search.glob("trial_*"))[0].name
    assert {f"{name}/{trial}/{f}" for f in ("params.json", "result.json", "progress.csv")} <= set(got)
    assert not any("checkpoint_" in m or m.endswith((".pkl", "mlflow.db")) or "mlartifacts" in m for m in got)
    assert not any("other-run" in m for m in got)
    assert info["files"] == len(got) and info["sizeBytes"] == Path(info["path"]).stat().st_size
    left = " ".join(info["leftOut"])
    assert "checkpoint_000001/ (a checkpoint: pass --with-checkpoints)" in left and "tuner.pkl (a pickle" in left
    assert "mlflow.db (the MLflow database" in left and "mlartifacts/ (MLflow artifacts" in left
    assert doc["warnings"] == ["1 checkpoint folder(s) left out: pass --with-checkpoints to pack them"]
    manifest = json.loads(got["raydt_bundle.json"])
    assert manifest["experiment"] == name and manifest["leftOut"] == info["leftOut"]


def test_with_checkpoints_packs_them_and_the_artifacts(search: Path) -> None:
    doc, code = api.bundle(search, search.parent / "full.tar.gz", with_checkpoints=True)
    got = members(Path(doc["bundle"]["path"]))
    assert code == 0 and doc["bundle"]["withCheckpoints"] is True
    assert any(m.endswith("checkpoint_000001/model.pt") for m in got)
    assert any(m.endswith("mlartifacts/big.bin") for m in got)
    assert not any(m.endswith(".pkl") for m in got)  # still: pickles outside checkpoints cannot be redacted


SECRETS: list[tuple[str, str, str, str]] = [
    # (id, file in the experiment, its text, the secret that must not survive)
    ("hf-token-env", "raydt_spec.json",
     '{"mode": "tune", "config": {"rayInit": {"runtime_env": {"env_vars": {"HF_TOKEN": "hf_abcdefghijklmnopqrstu"}}}}}',
     "hf_abcdefghijklmnopqrstu"),
    ("mlflow-password", "raydt_spec.json",
     '{"mode": "tune", "env": {"MLFLOW_TRACKING_PASSWORD": "pa55word!"}}', "pa55word!"),
    ("mlflow-token", "extra.yaml", "env:\n  MLFLOW_TRACKING_TOKEN: mlf-tok-123456\n", "mlf-tok-123456"),
    ("aws-secret-in-a-log", "driver.log", "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MD\n", "wJalrXUtnFEMIK7MD"),
    ("camel-api-key", "raydt_spec.json", '{"mode": "tune", "tracking": {"apiKey": 123456789}}', "123456789"),
    ("yaml-password", "extra.yaml", "db:\n  password: 'hunter22'\n", "hunter22"),
    ("nested-credentials", "params.json", '{"credentials": {"user": "bob", "value": "s3cr3t-val"}}', "s3cr3t-val"),
    ("authorization-header", "driver.log", 'headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.x"}\n',
     "eyJhbGciOiJIUzI1NiJ9.x"),
    ("basic-auth", "driver.log", "Authorization: Basic Ym9iOnNlY3JldA==\n", "Ym9iOnNlY3JldA=="),
    ("url-password", "raydt_spec.json",
     '{"mode": "tune", "runConfig": {"tracking": {"mlflow": {"trackingUri": "https://bob:pw-in-url@mlflow.example"}}}}',
     "pw-in-url"),
    ("token-shape-in-text", "error.txt", "ValueError: could not log in with ghp_0123456789abcdefghijABCDEFGHIJ\n",
     "ghp_0123456789abcdefghijABCDEFGHIJ"),
    ("jsonl-ledger", "raydt_trials.jsonl", '{"event": "plan", "secret_key": "ledger-secret-1"}\n', "ledger-secret-1"),
]  # fmt: skip


@pytest.mark.parametrize(("where", "text", "secret"), [s[1:] for s in SECRETS], ids=[s[0] for s in SECRETS])
def test_each_secret_form_is_redacted_in_the_bundle_never_in_the_original(
    tmp_path: Path, where: str, text: str, secret: str
) -> None:
    exp = synthesize_tune(tmp_path / "results", trials=1, iterations=1)
    target = exp / where if where != "params.json" else next(exp.glob("trial_*")) / where
    target.write_text(text)
    # the report embeds the spec: the same value must go from its HTML too, scripts left intact
    (exp / "report").mkdir()
    (exp / "report" / "report.html").write_text(f"<script>var token=a.b;</script><pre>{text}</pre>")
    doc, code = api.bundle(exp, tmp_path / "run.tar.gz")
    assert code == 0 and doc["bundle"]["redactions"] >= 2, doc
    got = members(tmp_path / "run.tar.gz")
    assert not [m for m, data in got.items() if secret.encode() in data]
    packed = next(data for m, data in got.items() if m.endswith(f"/{where}")).decode()
    assert "[redacted]" in packed
    assert "var token=a.b;" in got[f"{exp.name}/report/report.html"].decode()
    assert target.read_text() == text  # the original is untouched


def test_what_only_looks_like_a_secret_is_kept(tmp_path: Path) -> None:
    exp = synthesize_tune(tmp_path / "results", trials=1, iterations=1)
    spec = json.loads((exp / "raydt_spec.json").read_text())
    spec["trainConfig"].update(maxNewTokens=64, tokenizer="bpe", key="loss", metricKey="val_loss")
    spec["serveConfig"] = {"auth": True, "tokenFile": "~/.raydt/serve-token", "tokenEnv": "RAYDT_SERVE_TOKEN"}
    (exp / "raydt_spec.json").write_text(json.dumps(spec))
    doc, code = api.bundle(exp, tmp_path / "run.tar.gz")
    assert code == 0 and doc["bundle"]["redactions"] == 0, doc
    got = members(tmp_path / "run.tar.gz")
    assert json.loads(got[f"{exp.name}/raydt_spec.json"]) == spec


def test_a_folder_that_is_no_experiment_is_a_usage_error_with_field_value_and_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bundle", str(tmp_path), "-o", str(tmp_path / "x.tar.gz")]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "USAGE"
    issue = error["issues"][0]
    assert issue["path"] == "DIR" and issue["value"] == str(tmp_path) and "raydt_spec.json" in issue["rule"]
    assert "experimentPath" in issue["hint"] and not (tmp_path / "x.tar.gz").exists()
    doc, code = api.bundle(tmp_path / "missing")
    assert code == 2 and "does not exist" in doc["error"]["issues"][0]["rule"]


def explained(path: Path | str) -> dict[str, Any]:
    doc, code = api.explain(str(path))
    assert code == 0, doc
    return doc


def test_explain_on_a_bundle_in_a_fresh_folder_names_the_same_cause(tmp_path: Path, monkeypatch: Any) -> None:
    exp = train_folder(tmp_path, worker_log("ModuleNotFoundError: No module named 'my_helpers'"), [HEALTH_CHECK])
    pm.write(exp, "train", f"rank 0: {HEALTH_CHECK}", [], pm.Where())
    before = explained(exp)
    doc, code = api.bundle(exp, tmp_path / "ship" / "run.tar.gz")
    assert code == 0, doc
    shutil.rmtree(tmp_path / "results")  # the experiment and its log are gone
    fresh = tmp_path / "elsewhere"
    fresh.mkdir()
    monkeypatch.chdir(fresh)
    monkeypatch.setenv("RAY_TMPDIR", str(fresh))  # no session logs here either
    bundle = tmp_path / "ship" / "run.tar.gz"
    after = explained(os.path.relpath(bundle, fresh))
    assert after["fromBundle"] == str(bundle)
    assert [c["code"] for c in after["causes"]][:1] == [c["code"] for c in before["causes"]][:1]
    assert after["causes"][0]["code"] == "MODULE_NOT_FOUND_ON_WORKERS", after["causes"]
    assert after["experimentPath"] == f"{bundle}:fit"
    assert all(s.startswith(f"{bundle}:") for s in after["sources"]), after["sources"]
    assert f"{bundle}:fit/raydt_postmortem/train-1/node.json" in after["sources"]
    assert all(e["file"].startswith(f"{bundle}:") for c in after["causes"] for e in c["evidence"])


def test_a_saved_result_travels_with_the_bundle_and_explain_reads_it(tmp_path: Path) -> None:
    exp = train_folder(tmp_path, None, [])
    result = tmp_path / "result.json"
    error = {"code": "NAN_METRIC", "message": "loss became NaN at epoch 3", "hint": "Lower the learning rate."}
    result.write_text(json.dumps({"status": "error", "results": {}, "error": error}, indent=2))
    doc, code = api.bundle(exp, tmp_path / "run.tar.gz", result=result)
    assert code == 0 and "fit/raydt_result.json" in members(tmp_path / "run.tar.gz"), doc
    after = explained(tmp_path / "run.tar.gz")
    assert after["causes"][0]["code"] == "NAN_METRIC" and after["causes"][0]["fix"] == "Lower the learning rate."
    assert f"{tmp_path / 'run.tar.gz'}:fit/raydt_result.json" in after["sources"]
    doc, code = api.bundle(exp, tmp_path / "x.tar.gz", result=exp / "raydt_spec.json")
    assert code == 2 and doc["error"]["issues"][0]["path"] == "--result", doc


def test_report_on_a_bundle_in_a_fresh_folder(tmp_path: Path, monkeypatch: Any) -> None:
    exp = synthesize_tune(tmp_path / "results", trials=4, iterations=3)
    doc, code = api.bundle(exp, tmp_path / "run.tar.gz")
    assert code == 0
    shutil.rmtree(tmp_path / "results")
    monkeypatch.chdir(tmp_path)
    out = main(["report", "run.tar.gz"])
    assert out == 0
    html = tmp_path / "run-report" / "report.html"
    assert html.is_file() and "raydt-bundle-" not in html.read_text()
    assert f"{tmp_path / 'run.tar.gz'}:{exp.name}" in html.read_text()


def test_a_tarball_with_a_member_outside_it_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    doc, code = api.explain(str(evil))
    assert code == 2 and "outside the bundle (../escaped.txt)" in doc["error"]["message"], doc
    assert not (tmp_path.parent / "escaped.txt").exists()
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a tarball")
    doc, code = api.report(str(broken))
    assert code == 2 and "cannot be read" in doc["error"]["message"] and "raydt bundle" in doc["error"]["hint"]


def test_bundle_and_explain_on_it_import_no_ray_as_a_real_process(tmp_path: Path) -> None:
    exp = train_folder(tmp_path, worker_log("ModuleNotFoundError: No module named 'my_helpers'"), [HEALTH_CHECK])
    script = (
        "import sys\n"
        "from raydt.cli import main\n"
        f"assert main(['bundle', {str(exp)!r}, '-o', {str(tmp_path / 'b.tar.gz')!r}]) == 0\n"
        f"assert main(['explain', {str(tmp_path / 'b.tar.gz')!r}]) == 0\n"
        "assert 'ray' not in sys.modules, 'Ray was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert '"fromBundle"' in proc.stdout and '"MODULE_NOT_FOUND_ON_WORKERS"' in proc.stdout, proc.stdout
