"""The bad-input corpus through the CLI (in-process): exit code 2 or 1, one JSON error, no traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from raydt.cli import main
from tests.conftest import assert_seed_output
from tests.unit.test_spec_invalid import CASES, FILE_CASES

FIX = Path(__file__).resolve().parent.parent / "fixtures"

EXTRA: list[tuple[str, Any, str]] = [
    ("huge-float", {"mode": "train", "config": {"resourcesPerWorker": {"cpu": 1e300}}}, "<= 1000000"),
    ("huge-samples", {"mode": "tune", "config": {}, "tuneConfig": {"numSamples": 10**15}}, "numSamples"),
    (
        "bad-domain",
        {"mode": "tune", "config": {}, "tuneConfig": {"searchSpace": {"lr": {"type": "x"}}}},
        "unknown domain",
    ),
    ("unknown-scheduler", {"mode": "tune", "config": {}, "tuneConfig": {"scheduler": "grid"}}, "unknown scheduler"),
    ("ray-init-key", {"mode": "cluster", "config": {"rayInit": {"num_cpu": 1}}}, "num_cpus"),
]


@pytest.mark.parametrize(
    ("spec", "needle"),
    [(c[1], c[2]) for c in CASES] + [(c[1], c[2]) for c in EXTRA],
    ids=[c[0] for c in CASES] + [c[0] for c in EXTRA],
)
def test_invalid_spec_through_the_cli(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], spec: Any, needle: str
) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    code = main(["run", str(path)]) if "rayInit" in json.dumps(spec) else main(["validate", str(path)])
    out, err = capfd.readouterr()
    doc = json.loads(out)
    assert_seed_output(doc)
    assert code == 2 and doc["status"] == "error"
    assert needle in doc["error"]["message"] + json.dumps(doc["error"].get("issues", []))
    assert "Traceback" not in out + err


@pytest.mark.parametrize(("name", "text", "needle"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_broken_spec_files_through_the_cli(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], name: str, text: str, needle: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    code = main(["run", str(path)])
    doc = json.loads(capfd.readouterr().out)
    assert code == 2 and doc["error"]["code"] == "SPEC_FILE" and needle in doc["error"]["message"]


def test_directory_and_missing_file_through_the_cli(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    for target in (tmp_path, tmp_path / "missing.yaml"):
        assert main(["run", str(target)]) == 2
        assert json.loads(capfd.readouterr().out)["error"]["code"] == "SPEC_FILE"
