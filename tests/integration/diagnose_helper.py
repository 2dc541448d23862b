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


@contextmanager
def extra_raylet(ip: str, env: dict[str, str]) -> Iterator[None]:
    """One more raylet (``ray start --address``, 0 CPUs) joined to the running ``raydt cluster up`` cluster, with
    ``env`` added to its environment (its workers inherit it): a node set up differently from the others.
    It carries the cluster's tag (``cluster down`` would stop it too) and is stopped by pid when the block ends."""
    import subprocess
    import sys
    import time

    from raydt.clusters import state

    rec = state.read()
    assert rec is not None, "no raydt cluster up cluster is recorded"
    before = set(procs.tagged(rec["id"]))
    full = {**os.environ, procs.TAG: rec["id"], "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": rec["tokenFile"],
            "RAY_TMPDIR": rec["rayTempDir"], "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1", **env}  # fmt: skip
    full.pop("RAY_ADDRESS", None)
    ray_cli = str(Path(sys.executable).parent / "ray")
    args = [ray_cli, "start", "--disable-usage-stats", f"--address={rec['address']}", f"--node-ip-address={ip}",
            "--num-cpus=0", f"--temp-dir={rec['rayTempDir']}/extra"]  # fmt: skip
    proc = subprocess.run(args, env=full, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    time.sleep(2)  # the node registers with the GCS
    started = sorted(set(procs.tagged(rec["id"])) - before)
    try:
        yield
    finally:
        for pid in started:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
