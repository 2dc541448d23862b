"""One lasting local cluster (``raydt cluster up``) per test module for doctor's and explain's slow tests: runs
and doctor find it through the state folder, as a user's would; it is stopped (``cluster down``, then every
process still tagged with its id, by pid) when the module ends."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from raydt.clusters import procs
from tests.conftest import run_cli


@contextmanager
def lasting_cluster(state: Path, *flags: str) -> Iterator[dict[str, Any]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAYDT_STATE_DIR", str(state))
        mp.delenv("RAY_ADDRESS", raising=False)
        up = run_cli("cluster", "up", *flags, timeout=240)
        assert up.code == 0, up.out
        cluster = up.out["lastingCluster"]
        try:
            yield cluster
        finally:
            run_cli("cluster", "down", timeout=120)
            for pid in procs.tagged(cluster["id"]):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
