"""The CLI as a real subprocess (no Ray started here): exit codes, JSON on stdout, help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, run_cli


def test_validate_good_spec_exits_0(write_spec) -> None:
    res = run_cli("validate", str(write_spec({"mode": "train", "config": {"numWorkers": 2}})))
    assert res.code == 0
    assert res.out["status"] == "success" and res.out["valid"] is True and res.out["mode"] == "train"


def test_validate_bad_spec_exits_2_with_issues(write_spec) -> None:
    res = run_cli("validate", str(write_spec({"mode": "train", "config": {"numWorkers": 0, "gpu": 1}})))
    assert res.code == 2
    assert res.out["status"] == "error"
    err = res.out["error"]
    assert err["code"] == "SPEC_INVALID"
    assert {i["path"] for i in err["issues"]} == {"config.numWorkers", "config.gpu"}
    assert err["hint"]


def test_run_bad_spec_fails_before_ray_with_exit_2(write_spec) -> None:
    res = run_cli("run", str(write_spec("mode: train\nconfig: {numWorkers: -1}\n", "s.yaml")), timeout=30)
    assert res.code == 2
    assert res.out["error"]["issues"][0]["path"] == "config.numWorkers"


def test_validate_from_stdin() -> None:
    res = run_cli("validate", "-", stdin='{"mode": "cluster", "config": {}}')
    assert res.code == 0 and res.out["mode"] == "cluster"


def test_missing_spec_file_is_spec_file_error(tmp_path: Path) -> None:
    res = run_cli("validate", str(tmp_path / "absent.yaml"))
    assert res.code == 2 and res.out["error"]["code"] == "SPEC_FILE"
    assert "not found" in res.out["error"]["message"]


def test_usage_errors_exit_2_with_json() -> None:
    for args in (["frobnicate"], ["schema", "both"], ["run"], []):
        res = run_cli(*args)
        assert res.code == 2, args
        assert res.out["error"]["code"] == "USAGE"


def test_schema_commands_print_json_schemas() -> None:
    for kind in ("input", "output"):
        proc = subprocess.run([sys.executable, "-m", "raydt", "schema", kind], capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 0
        doc = json.loads(proc.stdout)
        assert doc["type"] == "object"
    assert "mode" in doc["properties"] and "error" in doc["properties"]


def test_help_lists_every_command_with_an_example() -> None:
    proc = subprocess.run([sys.executable, "-m", "raydt", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0
    for command in ("run", "validate", "schema", "resume", "cluster"):
        assert f"  {command}" in proc.stdout
        assert f"raydt {command}" in proc.stdout
    from raydt.registry import FRAMEWORKS, SCHEDULERS, SEARCHERS

    for name in [*FRAMEWORKS, *SCHEDULERS, *SEARCHERS]:  # the help reads the registries
        assert f"    {name} " in proc.stdout


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).parent / "raydt"
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip()


def test_validate_and_schema_never_import_ray_or_torch(write_spec) -> None:
    spec = write_spec(
        {
            "mode": "train",
            "config": {},
            "trainConfig": {"trainerPath": str(ROOT / "tests/fixtures/trainers.py:raises")},
        }
    )
    pbt = write_spec(
        {
            "mode": "tune",
            "config": {},
            "tuneConfig": {"scheduler": "pbt", "searchSpace": {"lr": {"type": "uniform", "min": 0.01, "max": 0.1}}},
        },
        "pbt.json",
    )
    broken = write_spec(
        {"mode": "tune", "config": {"numWorkers": "2"}, "tuneConfig": {"scheduler": "pb2"}}, "broken.json"
    )
    lightgbm = write_spec(
        {
            "mode": "tune",
            "config": {"numWorkers": 2},
            "trainConfig": {"framework": "lightgbm"},
            "tuneConfig": {"searchSpace": {"num_leaves": {"type": "randint", "min": 4, "max": 31}}},
        },
        "lightgbm.json",
    )
    code = (
        "import sys, raydt\n"
        "from raydt.cli import main\n"
        f"assert main(['validate', {str(spec)!r}]) == 0\n"
        f"assert main(['validate', {str(pbt)!r}]) == 0\n"
        f"assert main(['validate', {str(broken)!r}]) == 2\n"
        f"assert main(['validate', {str(lightgbm)!r}]) == 0\n"
        "assert main(['schema', 'input']) == 0\n"
        "assert main(['schema', 'output']) == 0\n"
        "heavy = sorted(m for m in ('ray', 'torch', 'tensorflow', 'xgboost', 'lightgbm') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
