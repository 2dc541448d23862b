"""One real local Ray per test session for the in-process tests (started through raydt's own code)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def shared_ray() -> Iterator[None]:
    from raydt import ray_session

    with ray_session.connect(None, {"num_cpus": 2}):
        yield


@pytest.fixture
def servers() -> Iterator[list[Any]]:
    """Serve runs (``serve_helper.Server``) a test started: each is stopped (SIGINT, by its pid) at teardown."""
    started: list[Any] = []
    yield started
    for server in started:
        server.stop()


def run_helper(script: str, args: list[str], timeout: float, leftovers: Path | None = None) -> tuple[int, str, str]:
    """Run ``tests/integration/<script>`` in its own session (it starts a Ray cluster of its own); on a
    timeout its process group is killed, and pids it wrote to ``leftovers`` are killed too.
    Returns (exit code, stdout, stderr)."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/integration" / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    out, err = "", ""
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=30)
        if leftovers is not None and leftovers.exists():
            for pid in leftovers.read_text().split():
                try:
                    os.kill(int(pid), 9)
                except OSError:
                    pass
    return int(proc.returncode), out, err
