"""One lasting Ray for the whole slow tier, started with raydt's own ``raydt cluster up`` (docs/testing.md).

The cluster is recorded in this test session's state folder (``RAYDT_STATE_DIR``, set in tests/conftest.py),
so every ``raydt run`` / ``submit`` / ``serve`` the tests start as a real process finds it and runs there,
exactly as a user's run finds a cluster they started; the in-process tests (``shared_ray``) connect the pytest
process to the same cluster. One Ray on two cores instead of an embedded Ray per CLI test: the start and stop
(~10 s per CLI run) are paid once, and the lasting-cluster path is exercised on every CI run.

A test whose subject is the embedded start/stop, a driver's SIGKILL on an embedded Ray or the cluster
lifecycle itself asks for ``no_session_cluster`` (a state folder of its own, where no cluster is recorded).
A test that kills the cluster gets a fresh one before the next test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

#: The session cluster's size: one node of 2 CPUs (the machine's two cores), as the embedded Ray had.
CLUSTER_UP = ("cluster", "up", "--cpus", "2")


class SessionCluster:
    """The slow tier's one lasting cluster: started on first use, restarted when a test broke it,
    stopped by pid at the end of the session."""

    def __init__(self) -> None:
        self.record: dict[str, Any] | None = None
        self.known: dict[str, list[int]] = {}  # cluster id -> pids, for the cleanup by pid
        self._driver: ExitStack | None = None  # the pytest process's own connection (shared_ray)
        self.wanted = False  # a test asked for that connection: keep it across a restart of the cluster

    def ensure(self) -> dict[str, Any]:
        from raydt.clusters import state

        alive = state.running()
        if alive is not None and self.record is not None and alive.get("id") == self.record["id"]:
            return self.record
        self._stop_known()  # what is left of a dead cluster, by pid
        self.disconnect()  # a connection to it is of no use
        from tests.conftest import run_cli

        up = run_cli(*CLUSTER_UP, "--quiet", timeout=240)
        assert up.code == 0, f"the session cluster did not start: {up.out}"
        self.record = dict(up.out["lastingCluster"])
        self.known[self.record["id"]] = [int(p["pid"]) for p in self.record["processes"]]
        return self.record

    def connect(self) -> None:
        """Connect the pytest process to the cluster (through raydt's own ``ray_session.connect``)."""
        import ray

        if self._driver is not None and ray.is_initialized():
            return
        from raydt import ray_session

        record = self.ensure()
        stack = ExitStack()
        stack.enter_context(ray_session.connect(record["address"]))
        # raydt sets the cluster's token variables for the length of a connection; this one lasts the session, and
        # the processes the tests start must find the cluster's token as a user's would (its record), not inherit it
        for var in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH"):
            os.environ.pop(var, None)
        self._driver = stack

    def disconnect(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    def shut_serve_down(self) -> None:
        """A serve app a test left on the cluster would hold its port and answer the next test's requests."""
        import ray

        if self._driver is None or not ray.is_initialized():
            return
        from ray import serve

        try:
            running = bool(serve.status().applications)
        except Exception:  # noqa: BLE001 - Serve never started on this cluster
            return
        if running:
            serve.shutdown()

    def stop(self) -> None:
        self.disconnect()
        if self.record is not None:
            from tests.conftest import run_cli

            run_cli("cluster", "down", "--quiet", timeout=120)
        self._stop_known()

    def _stop_known(self) -> None:
        from raydt.clusters import procs

        for cluster_id, pids in self.known.items():  # whatever happened: its processes, by pid
            procs.stop(sorted(set(pids) | set(procs.tagged(cluster_id))), cluster_id, timeout=5)
        self.known.clear()
        self.record = None


_SESSION = SessionCluster()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _SESSION.stop()


@pytest.fixture(autouse=True)
def session_cluster(request: pytest.FixtureRequest) -> Iterator[dict[str, Any] | None]:
    """Every slow test runs with the session cluster up (a fresh one if the last test broke it); the e2e tier's
    tests start the clusters they are about."""
    node = request.node
    if (
        "no_session_cluster" in request.fixturenames
        or not node.get_closest_marker("slow")
        or node.get_closest_marker("e2e")
    ):
        yield None
        return
    record = _SESSION.ensure()
    if _SESSION.wanted:
        _SESSION.connect()
    yield record
    if "servers" in request.fixturenames or "serve" in node.nodeid or "shared_ray" in request.fixturenames:
        _SESSION.connect()  # a cheap check from the pytest process's own connection
        _SESSION.shut_serve_down()


@pytest.fixture
def cluster_to_break(session_cluster: dict[str, Any]) -> dict[str, Any]:
    """The session cluster, for a test that kills it: the pytest process lets go of it first (a driver whose GCS
    dies may be ended by Ray), and the next test's ``session_cluster`` starts a fresh one."""
    _SESSION.disconnect()
    return session_cluster


@pytest.fixture
def no_session_cluster(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state folder of its own for this test: no cluster is recorded there, so ``raydt`` starts an
    embedded Ray (or the test's own cluster) as on a machine where nothing runs."""
    folder = tmp_path_factory.mktemp("own-state")
    monkeypatch.setenv("RAYDT_STATE_DIR", str(folder))
    for var in ("RAY_ADDRESS", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_MODE"):
        monkeypatch.delenv(var, raising=False)
    return folder


@pytest.fixture(scope="session")
def shared_ray() -> None:
    """The pytest process connected to the session cluster, for the tests that call ``raydt.run`` in-process
    (session-scoped: module-scoped fixtures train with it; after a test broke the cluster, the autouse fixture
    connects to the fresh one)."""
    _SESSION.wanted = True
    _SESSION.connect()


@pytest.fixture(scope="session")
def pytorch_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One built-in PyTorch train run through the CLI on the session cluster (1 worker, 3 epochs, report on, one
    checkpoint kept): its result JSON. Shared by the report and serve tests, which read it and never change it:
    a train run costs ~15 s, paid once."""
    import json

    from tests.conftest import run_cli

    _SESSION.ensure()
    root = tmp_path_factory.mktemp("pytorch-run")
    spec = {
        "mode": "train",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"framework": "pytorch", "epochs": 3, "trainLoopConfig": {"hiddenSize": 16}},
        "runConfig": {"storagePath": str(root), "name": "trained", "report": True, "checkpoint": {"numToKeep": 1}},
    }
    (root / "spec.json").write_text(json.dumps(spec))
    res = run_cli("run", str(root / "spec.json"), timeout=240)
    assert res.code == 0, res.out
    out: dict[str, Any] = res.out
    return out


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
