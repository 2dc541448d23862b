"""How a run uses the cluster ``raydt cluster up`` recorded, without Ray: its raylets share this machine's disk (a
local storagePath is accepted on its several nodes, not on a cluster that only looks alike), and a recorded cluster
whose head died is named as dead by ``raydt run``, ``raydt cluster status`` and doctor instead of being replaced by
an embedded Ray (a stand-in ``ray`` module fails the test if anything tries to start one)."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import pytest

from raydt import preflight
from raydt.clusters import detect, state
from raydt.errors import RayConnectionError, SpecError
from tests.unit.test_clusters import _record, spawn, state_dir  # noqa: F401 - fixtures

DEAD_PID = 2**22 + 12345  # no such process


def status(*ips: str, address: str = "127.0.0.2:45678", autoscaler: Any = None) -> dict[str, Any]:
    """clusterStatus as ``ray_session.cluster_status`` returns it: the nodes' addresses and the connection's."""
    nodes = [{"address": ip, "cpu": 1.0, "gpu": 0.0, "memoryBytes": 0, "customResources": {}} for ip in ips]
    return {"numNodes": len(nodes), "nodes": nodes, "address": address, "autoscaler": autoscaler}


def test_a_local_storage_path_is_accepted_on_the_lasting_clusters_own_raylets(spawn: Any) -> None:  # noqa: F811
    """The README's example: `raydt cluster up --workers 1`, then a spec with a local storagePath."""
    _record(spawn("abc123"), address="127.0.0.2:45678", host="127.0.0.1", workers=1)
    preflight.check_storage("/home/me/raydt_results", False, status("127.0.0.2", "127.0.0.3"))


@pytest.mark.parametrize(
    ("seen", "why"),
    [
        (status("127.0.0.2", "10.0.0.7"), "a node joined from another machine"),
        (status("127.0.0.2", "127.0.0.3", address="10.0.0.1:6379"), "another cluster"),
        (status("127.0.0.2", "127.0.0.3", autoscaler={"version": "declared"}), "an autoscaler may add nodes"),
        (status("127.0.0.2", "127.0.0.3", "127.0.0.4"), "more raylets than the record's"),
    ],
    ids=["foreign-node", "other-cluster", "autoscaling", "unrecorded-raylet"],
)
def test_a_local_storage_path_is_still_refused_where_the_nodes_may_not_share_it(
    spawn: Any,  # noqa: F811
    seen: dict[str, Any],
    why: str,
) -> None:
    _record(spawn("abc123"), address="127.0.0.2:45678", host="127.0.0.1", workers=1)
    with pytest.raises(SpecError) as info:
        preflight.check_storage("/home/me/raydt_results", False, seen)
    assert info.value.issues[0].path == "runConfig.storagePath", why


def test_the_raylets_of_a_cluster_up_on_another_host_are_all_that_host() -> None:
    assert detect.node_ips({"host": "127.0.0.1", "workers": 2}) == {"127.0.0.2", "127.0.0.3", "127.0.0.4"}
    assert detect.node_ips({"host": "192.168.1.5", "workers": 1}) == {"192.168.1.5"}


def test_a_dead_recorded_cluster_is_named_with_its_fix() -> None:
    assert state.dead() is None
    detect.refuse_dead()  # nothing recorded: nothing to refuse
    _record(DEAD_PID)
    assert state.running() is None and state.dead() is not None
    with pytest.raises(RayConnectionError) as info:
        detect.refuse_dead()
    err = info.value
    assert err.code == "RAY_CONNECTION" and err.exit_code == 1
    assert "127.0.0.1:45678 is dead" in err.message and str(DEAD_PID) in err.message
    assert str(state.record_path()) in err.message
    assert "raydt cluster up" in err.hint and "raydt cluster down" in err.hint and "config.address: local" in err.hint


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in ``ray`` module: nothing is initialised, and starting Ray fails the test."""
    fake = ModuleType("ray")
    fake.is_initialized = lambda: False  # type: ignore[attr-defined]

    def init(**kwargs: Any) -> None:
        raise AssertionError(f"an embedded Ray would start ({kwargs.get('address')})")

    fake.init = init  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ray", fake)


@pytest.mark.usefixtures("no_ray")
def test_a_run_with_no_address_refuses_a_dead_cluster_instead_of_an_embedded_ray() -> None:
    from raydt import ray_session

    _record(DEAD_PID)
    with pytest.raises(RayConnectionError, match="is dead"), ray_session.connect(None):
        pass
    with pytest.raises(AssertionError, match="would start"), ray_session.connect("local"):  # asked for: allowed
        pass


@pytest.mark.usefixtures("no_ray")
def test_cluster_status_says_the_recorded_cluster_is_dead() -> None:
    import raydt

    _record(DEAD_PID)
    out = raydt.cluster_status()
    assert out["status"] == "error" and out["error"]["code"] == "RAY_CONNECTION", out
    assert "is dead" in out["error"]["message"] and "raydt cluster down" in out["error"]["hint"]


def test_doctor_fails_the_lasting_cluster_check_of_a_dead_record() -> None:
    from raydt.diagnose.host import cluster_record_checks

    assert cluster_record_checks() == []
    _record(DEAD_PID)
    (check,) = cluster_record_checks()
    assert check.name == "lasting cluster" and check.status == "fail" and "is dead" in check.found
    assert "raydt cluster up" in check.fix
