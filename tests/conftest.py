"""Shared test helpers: the CLI as a real subprocess, and the seed's output schema."""

from __future__ import annotations

import functools
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

#: Test-time Ray settings, in this one place (docs/testing.md): they cut start-up and memory without
#: changing what a test proves. Every Ray these tests start inherits them: the session cluster, the CLI's
#: embedded Rays, the helper clusters.
TEST_RAY_ENV = {
    # every Ray process on loopback (Ray otherwise binds the machine's address)
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    # no idle Python workers started ahead (2 per raylet start and per driver): raydt's runs carry a runtime
    # environment of their own, so Ray starts their workers anyway; prestarted ones only cost CPU
    "RAY_enable_worker_prestart": "0",
    "RAY_prestart_worker_first_driver": "0",
    # the object store at 5 % of memory (~1.2 GB here, 30 % by default): the tests move kilobytes
    "RAY_DEFAULT_OBJECT_STORE_MEMORY_PROPORTION": "0.05",
}
for _key, _value in TEST_RAY_ENV.items():
    os.environ.setdefault(_key, _value)
# Serve runs record themselves for `raydt serve status`: in a folder of this test session, never in ~/.raydt.
os.environ.setdefault("RAYDT_STATE_DIR", tempfile.mkdtemp(prefix="raydt-state-"))

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED_OUTPUT = json.loads((ROOT / "src/raydt/spec/seed_output_schema.json").read_text())


_VALIDATORS: dict[str, Any] = {}


def validate(doc: Any, schema: dict[str, Any]) -> None:
    """``jsonschema.validate``, with each schema checked once per session instead of on every call (checking
    raydt's output schema took ~0.1 s a document): the same best-matching error."""
    key = json.dumps(schema, sort_keys=True)
    validator = _VALIDATORS.get(key)
    if validator is None:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        validator = _VALIDATORS[key] = cls(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        raise error


@functools.cache
def raydt_output_schema() -> dict[str, Any]:
    from raydt.spec.schemas import output_schema

    return output_schema()


def assert_seed_output(doc: dict[str, Any]) -> None:
    """Every JSON raydt prints must satisfy the seed's output schema, and every key must be documented."""
    ours = raydt_output_schema()
    validate(doc, SEED_OUTPUT)
    validate(doc, ours)
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


_STARTED: list[float] = []


def pytest_sessionstart(session: Any) -> None:
    import time

    _STARTED.append(time.time())


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Each tier's time against its budget (docs/testing.md), printed by the last tier of ``make test``:
    the Makefile writes the earlier tiers' times to ``RAYDT_TEST_TIMES``; this session adds its own."""
    times_file = os.environ.get("RAYDT_TEST_TIMES")
    if not times_file or config.getoption("collectonly", False) or hasattr(config, "workerinput"):
        return
    import time

    tier = os.environ.get("RAYDT_TEST_TIER", "pytest")
    path = Path(times_file)
    if _STARTED:
        with path.open("a") as fh:
            fh.write(f"{tier} {time.time() - _STARTED[0]:.0f}\n")
    if os.environ.get("RAYDT_TEST_LAST") != "1" or not path.exists():
        return
    budgets = {"lint+types": 120, "fast": 60, "slow": 25 * 60}
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    terminalreporter.section("make test: time per tier (budget)")
    total = 0
    for name, seconds in rows:
        total += int(seconds)
        budget = budgets.get(name)
        mark = "" if budget is None else f"  (budget {budget} s{', OVER' if int(seconds) > budget else ''})"
        terminalreporter.write_line(f"{name:<12} {int(seconds):>6} s{mark}")
    over = ", OVER" if total > 30 * 60 else ""
    terminalreporter.write_line(f"{'total':<12} {total:>6} s  (budget 1800 s{over}; the venv install not counted)")
