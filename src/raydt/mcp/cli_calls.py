"""The tools that talk to Ray (cluster_status, doctor, submit_job, job_status) run the CLI as a subprocess: the
server never becomes a Ray driver (one per process, tied to one cluster), and a cluster that does not answer
costs a bounded wait, not the server. A spec object an agent passes is written to a file the CLI reads."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from raydt import api
from raydt.errors import RunError
from raydt.mcp import models
from raydt.mcp.runs import Registry

#: seconds a synchronous CLI tool (cluster_status, submit_job, job_status) may take
CLI_TIMEOUT_S = 120.0


def spec_source(spec: dict[str, Any] | str) -> dict[str, Any] | str:
    """A spec argument as ``raydt.api`` reads it: the object, or the file path (``~`` expanded)."""
    return spec if isinstance(spec, dict) else str(Path(spec).expanduser())


def spec_file(registry: Registry, spec: dict[str, Any] | str, *, validate: bool = True) -> str:
    """A spec argument as a file the CLI reads (an object is validated here first, then written once)."""
    source = spec_source(spec)
    if isinstance(source, str):
        return source
    if validate:
        api.validate(source)
    folder = registry.folder.parent / "submitted"
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(source, indent=2, sort_keys=True)
    path = folder / f"spec-{hashlib.sha256(text.encode()).hexdigest()[:12]}.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


def address_flags(args: models.AddressArgs) -> list[str]:
    return ["--address", args.address] if args.address else []


def cli_document(registry: Registry, argv: list[str], timeout_s: float = CLI_TIMEOUT_S) -> dict[str, Any]:
    """``raydt ARGV`` as a subprocess: the JSON document it printed."""
    try:
        done = subprocess.run(
            [*registry.cli, *argv], capture_output=True, timeout=timeout_s, cwd=registry.cwd,
            stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise RunError(f"raydt {' '.join(argv)} did not answer within {timeout_s:g} s") from None
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        err = RunError(f"raydt {' '.join(argv)} exited with code {done.returncode} without a JSON document")
        err.details = {"stderrTail": done.stderr.decode(errors="replace").splitlines()[-20:]}
        raise err from None
    if not isinstance(doc, dict):
        raise RunError(f"raydt {' '.join(argv)} printed {type(doc).__name__}, not a JSON object")
    return doc
