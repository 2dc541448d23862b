"""The KubeRay idle-stop watcher's probe (``raydt.k8s.watcher.busy``) against a real Ray dashboard with token auth:
a local lasting cluster of its own stands in for the head pod's Ray container. Idle, a connected driver, a
submitted job, idle again; without the token it cannot tell, which counts as use."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from raydt.clusters import state
from raydt.k8s import watcher
from tests.conftest import run_cli

# e2e: a cluster of its own (the session cluster always has a driver: never idle), as test_idle_stop.py
pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def _until(dashboard: str, token: str, busy: bool, timeout: float = 60.0) -> str | None:
    """What the probe says once it says busy (``busy``) or idle; fails after ``timeout``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = watcher.busy(dashboard, token)
        if (found is not None) == busy:
            return found
        time.sleep(0.5)
    raise AssertionError(f"the probe never said {'busy' if busy else 'idle'}")


def test_the_probe_sees_drivers_and_jobs_on_a_real_dashboard(no_session_cluster: Path) -> None:
    up = run_cli("cluster", "up", "--cpus", "1", "--quiet", timeout=180)
    assert up.code == 0, up.out
    cluster = up.out["lastingCluster"]
    driver = None
    try:
        token_file = str((state.read() or {})["tokenFile"])  # the record has it; the JSON names only its source
        token = Path(token_file).read_text().strip()
        dashboard = cluster["dashboardUrl"]
        assert _until(dashboard, token, False) is None
        unauthorised = watcher.busy(dashboard, None)
        assert unauthorised is not None and unauthorised.startswith("cannot tell")
        code = f"import ray, time; ray.init(address={cluster['address']!r}); print('up', flush=True); time.sleep(120)"
        env_token = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": token_file}
        driver = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env={**os.environ, **env_token}
        )
        assert driver.stdout is not None and driver.stdout.readline().strip() == "up"
        found = _until(dashboard, token, True)
        assert found is not None and found.startswith("driver job"), found
        driver.kill()
        driver.wait()
        driver = None
        assert _until(dashboard, token, False) is None
        from ray.job_submission import JobSubmissionClient

        client = JobSubmissionClient(dashboard, headers={"Authorization": f"Bearer {token}"})
        job = client.submit_job(entrypoint="sleep 30")
        found = _until(dashboard, token, True)
        assert found is not None and job in found, found
        client.stop_job(job)
        assert _until(dashboard, token, False) is None
    finally:
        if driver is not None:
            driver.kill()
            driver.wait()
        run_cli("cluster", "down", timeout=120)
