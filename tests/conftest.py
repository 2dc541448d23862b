"""Shared test helpers: the CLI as a real subprocess, and the seed's output schema."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

# Keep every Ray process these tests start on loopback (Ray otherwise binds the machine's address).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# Serve runs record themselves for `raydt serve status`: in a folder of this test session, never in ~/.raydt.
os.environ.setdefault("RAYDT_STATE_DIR", tempfile.mkdtemp(prefix="raydt-state-"))

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED_OUTPUT = json.loads((ROOT / "src/raydt/spec/seed_output_schema.json").read_text())


def assert_seed_output(doc: dict[str, Any]) -> None:
    """Every JSON raydt prints must satisfy the seed's output schema, and every key must be documented."""
    from raydt.spec.schemas import output_schema

    jsonschema.validate(doc, SEED_OUTPUT)
    ours = output_schema()
    jsonschema.validate(doc, ours)
    assert set(doc) <= set(ours["properties"]), set(doc) - set(ours["properties"])
    documented = set(ours["properties"]["results"]["properties"])
    assert set(doc.get("results", {})) <= documented, set(doc["results"]) - documented


def free_port() -> int:
    """A loopback port nothing listens on (for a serve run)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class CliResult:
    code: int
    out: dict[str, Any]
    stdout: str
    stderr: str


def run_cli(*args: str, stdin: str | None = None, timeout: float = 300, cwd: Path | None = None) -> CliResult:
    """Run ``python -m raydt ARGS`` as a real process; stdout must be exactly one JSON document."""
    proc = subprocess.run(
        [sys.executable, "-m", "raydt", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or ROOT,
    )
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        detail = f"stdout={proc.stdout!r}\nstderr={proc.stderr}"
        raise AssertionError(f"stdout is not one JSON document: {exc}\n{detail}") from None
    assert "Traceback (most recent call last)" not in proc.stderr, proc.stderr
    assert_seed_output(out)
    return CliResult(proc.returncode, out, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> Any:
    return run_cli


@pytest.fixture
def write_spec(tmp_path: Path) -> Any:
    """Write a spec dict (or raw text) to a file in tmp_path and return its path."""

    def _write(content: dict[str, Any] | str, name: str = "spec.json") -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return path

    return _write
