"""raydt doctor against a real cluster of two raylets with different resources (``raydt cluster up`` with a
worker raylet that alone has a custom resource): nodes, versions on each node (a task pinned to each), token
authentication, the dashboard's binding, storage every node must reach, and workers that cannot fit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.integration.diagnose_helper import extra_raylet, lasting_cluster

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # `make test-e2e` (docs/testing.md), not CI


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    flags = ("--cpus", "1", "--workers", "1", "--worker-cpus", "1", "--worker-resources", '{"side": 1}')
    with lasting_cluster(tmp_path_factory.mktemp("state"), *flags) as found:
        yield found


def checks(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in doc["checks"]}


def spec_path(tmp_path: Path, shared: bool, side: float, storage: str | None = None, framework: str = "pytorch") -> str:
    spec = {"mode": "train", "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1, "custom": {"side": side}}},
            "trainConfig": {"framework": framework, "epochs": 1},
            "runConfig": {"storagePath": storage or str(tmp_path / "results"), "sharedStorage": shared}}  # fmt: skip
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return str(path)


def test_the_cluster_its_nodes_versions_and_security(cluster: dict[str, Any]) -> None:
    res = run_cli("doctor", "--address", cluster["address"])
    assert res.code == 0, res.out
    found = checks(res.out)
    assert "2 node(s)" in found["cluster"]["found"] and found["cluster"]["status"] == "ok"
    assert found["versions"]["status"] == "ok" and "on every node" in found["versions"]["found"]
    assert found["auth (cluster)"]["status"] == "ok" and "401" in found["auth (cluster)"]["found"]
    assert found["dashboard (cluster)"]["status"] == "ok" and "127.0.0." in found["dashboard (cluster)"]["found"]
    assert "[ok  ] versions" in res.stderr
    bare = checks(run_cli("doctor").out)  # no address: the running cluster's record only, no Ray imported
    assert cluster["address"] in bare["lasting cluster"]["found"] and "cluster" not in bare
    assert bare["dashboard"]["status"] == "ok" and "listening on 127.0.0." in bare["dashboard"]["found"]


def test_local_storage_on_its_own_raylets_passes_and_an_unplaceable_worker_fails(
    cluster: dict[str, Any], tmp_path: Path
) -> None:
    """A local storagePath on the raylets `raydt cluster up` started on this machine is one disk (issue 26 item 5):
    every node sees doctor's marker file; a worker no node can hold fails."""
    res = run_cli("doctor", "--address", cluster["address"], spec_path(tmp_path, shared=False, side=2))
    assert res.code == 1 and res.out["error"]["code"] == "ENVIRONMENT_NOT_READY", res.out
    found = checks(res.out)
    assert found["storage (nodes)"]["status"] == "ok", found["storage (nodes)"]
    assert found["resources"]["status"] == "fail" and "side" in found["resources"]["found"]


def test_shared_storage_is_seen_by_every_node_and_the_running_cluster_is_found(
    cluster: dict[str, Any], tmp_path: Path
) -> None:
    res = run_cli("doctor", spec_path(tmp_path, shared=True, side=1))  # no --address: the running cluster
    found = checks(res.out)
    assert found["cluster"]["found"].startswith(cluster["address"]), found["cluster"]
    assert found["storage (nodes)"]["status"] == "ok" and "every node (2)" in found["storage (nodes)"]["found"]
    assert found["resources"]["status"] == "ok" and res.code == 0, res.out
    assert not list((tmp_path / "results").glob(".raydt-doctor-*"))  # the marker is removed


def test_a_storage_uri_is_resolved_on_every_node(cluster: dict[str, Any], tmp_path: Path) -> None:
    res = run_cli("doctor", "--address", cluster["address"], spec_path(tmp_path, False, 1, f"file://{tmp_path}"))
    found = checks(res.out)
    assert found["storage (nodes)"]["status"] == "ok", found["storage (nodes)"]
    assert "resolves on the driver and every node (2): LocalFileSystem" in found["storage (nodes)"]["found"]
    assert found["storage (shared folder)"]["status"] == "ok" and res.code == 0, res.out
    res = run_cli("doctor", "--address", cluster["address"], spec_path(tmp_path, False, 1, "nosuchfs://bucket/runs"))
    bad = checks(res.out)["storage (nodes)"]
    assert res.code == 1 and bad["status"] == "fail", res.out
    assert "does not resolve on the driver: ArrowInvalid: Unrecognized filesystem type" in bad["found"], bad
    assert bad["found"].count("Unrecognized filesystem type") == 3 and "s3://" in bad["fix"], bad  # driver, 2 nodes


def test_a_node_whose_framework_differs_fails_the_versions_check(cluster: dict[str, Any], tmp_path: Path) -> None:
    """Last in this module: a third raylet whose workers import a stub xgboost 0.0.1 (PYTHONPATH)."""
    import xgboost

    stub = tmp_path / "stub" / "xgboost"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("__version__ = '0.0.1'\n")
    with extra_raylet("127.0.0.9", {"PYTHONPATH": str(stub.parent)}):
        res = run_cli("doctor", "--address", cluster["address"], spec_path(tmp_path, True, 1, framework="xgboost"))
    versions = checks(res.out)["versions"]
    assert res.code == 1 and versions["status"] == "fail", res.out
    want = "xgboost (imported): 0.0.1 on node "
    assert want in versions["found"] and "(127.0.0.9); " in versions["found"], versions
    assert f"{xgboost.__version__} on driver, node " in versions["found"], versions
    assert "ray:" not in versions["found"]  # metadata agrees: only the imported module differs
