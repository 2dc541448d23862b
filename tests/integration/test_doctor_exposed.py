"""A real Ray head whose dashboard listens on 0.0.0.0 and that runs without token authentication, started in a
network namespace of its own (only its loopback exists: nothing outside can reach it). raydt doctor, run in the
same namespace, must warn about both. Every process of that Ray carries a tag and is stopped by pid."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from raydt.clusters import procs
from tests.conftest import ROOT, assert_seed_output, free_port

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # `make test-e2e` (docs/testing.md), not CI


def _net_namespace() -> bool:
    try:
        return subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _net_namespace(), reason="needs a network namespace (unshare --net)")
def test_a_dashboard_on_all_interfaces_without_a_token_warns_twice(tmp_path: Path) -> None:
    tag = f"doctor-exposed-{secrets.token_hex(4)}"
    port, dash = free_port(), free_port()
    ray = Path(sys.executable).parent / "ray"
    home = tmp_path / "home"  # no ~/.ray/auth_token: `ray start` then runs without token authentication
    home.mkdir()
    env = {**os.environ, "HOME": str(home), procs.TAG: tag}
    env.pop("RAY_AUTH_MODE", None)
    short = tempfile.mkdtemp(prefix="rdx-", dir="/tmp")  # Ray's socket paths must stay under 108 bytes
    script = (
        f"ip link set lo up && {ray} start --head --port {port} --dashboard-host 0.0.0.0 --dashboard-port {dash} "
        f"--num-cpus 1 --node-ip-address 127.0.0.1 --temp-dir {short} --disable-usage-stats "
        f"> {tmp_path}/start.log 2>&1 "
        f"&& {sys.executable} -m raydt doctor -q --address 127.0.0.1:{port} > {tmp_path}/doctor.json"
    )
    try:
        subprocess.run(["unshare", "--net", "sh", "-c", script], env=env, cwd=ROOT, timeout=240, check=False)
    finally:
        for pid in procs.tagged(tag):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(short, ignore_errors=True)
    text = (tmp_path / "doctor.json").read_text() if (tmp_path / "doctor.json").exists() else ""
    assert text, (tmp_path / "start.log").read_text()[-3000:]
    doc = json.loads(text)
    assert_seed_output(doc)
    found = {c["name"]: c for c in doc["checks"]}
    assert found["cluster"]["status"] == "ok", found["cluster"]
    assert found["dashboard (cluster)"]["status"] == "warn" and "0.0.0.0" in found["dashboard (cluster)"]["found"], (
        found["dashboard (cluster)"]
    )
    assert (
        found["auth (cluster)"]["status"] == "warn" and "token authentication off" in found["auth (cluster)"]["found"]
    ), found["auth (cluster)"]
