"""``raydt k8s`` on the command line: YAML on stdout (or in --out, with a JSON summary), errors as one JSON document
with exit 2, and no Ray imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from raydt.cli import main
from tests.conftest import ROOT, assert_seed_output
from tests.unit import kuberay_schema

SPEC = (
    "mode: train\nconfig: {numWorkers: 2, resourcesPerWorker: {cpu: 1}}\nrunConfig: {name: digits-ddp}\n"
    "k8sConfig: {image: registry.example.com/ml/raydt:0.1.0}\n"  # an image with raydt in it
)


def k8s(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["k8s", *args])
    return code, capsys.readouterr().out


def test_yaml_on_stdout_is_kubectl_ready(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    code, out = k8s(capsys, str(spec), "--storage", "s3://bucket/raydt", "--namespace", "ml", "--queue", "team-a")
    assert code == 0
    assert out.startswith(f"# KubeRay manifests for {spec}")
    documents = list(yaml.safe_load_all(out))
    assert [d["kind"] for d in documents] == ["ConfigMap", "RayJob"]
    for doc in documents:
        kuberay_schema.check(doc)
        assert doc["metadata"]["namespace"] == "ml"
    assert documents[1]["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-a"


def test_out_writes_the_file_and_prints_a_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    target = tmp_path / "cluster.yaml"
    code, out = k8s(capsys, str(spec), "--cluster", "--storage", "pvc:results", "--out", str(target))
    assert code == 0
    summary: dict[str, Any] = json.loads(out)
    assert_seed_output(summary)
    assert summary["manifests"] == {
        "file": str(target),
        "documents": ["ConfigMap/digits-ddp-spec", "RayCluster/digits-ddp"],
    }
    assert any("ray job submit" in w for w in summary["warnings"])
    kinds = [d["kind"] for d in yaml.safe_load_all(target.read_text())]
    assert kinds == ["ConfigMap", "RayCluster"]


@pytest.mark.parametrize(
    ("args", "code", "path"),
    [
        ([], "SPEC_INVALID", "runConfig.storagePath"),
        (["--storage", "s3://b/x", "--name", "Digits"], "USAGE", "--name"),
        (["--storage", "s3://b/x", "--out", "/nonexistent-dir/x.yaml"], "USAGE", "--out"),
    ],
)
def test_errors_are_one_json_document_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: str, path: str
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    exit_code, out = k8s(capsys, str(spec), *args)
    doc = json.loads(out)
    assert_seed_output(doc)
    assert exit_code == 2 and doc["status"] == "error" and doc["error"]["code"] == code
    (issue,) = doc["error"]["issues"]
    assert issue["path"] == path and issue["rule"] and issue["hint"] and issue["value"] is not None


def test_k8s_never_imports_ray(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    code = (
        "import sys\n"
        "from raydt.cli import main\n"
        f"assert main(['k8s', {str(spec)!r}, '--storage', 's3://b/x']) == 0\n"
        f"assert main(['k8s', {str(spec)!r}]) == 2\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'torch', 'tensorflow', 'xgboost'))\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "kind: RayJob" in proc.stdout
