"""Ray Jobs against what the target really is, without Ray: the GCS port (a real gRPC server) given as the dashboard,
a spec the cluster would refuse checked against the cluster's nodes before anything is uploaded (a local HTTP server
answering with the dashboard's own JSON shapes), and ``jobs stop`` of a job that had already ended."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from raydt import results
from raydt.errors import InfeasibleResourcesError, JobsError, SpecError
from raydt.jobs import cluster_fit, commands, connect, package
from raydt.plan import WorkerPlan
from tests.unit.test_clusters import _record, spawn, state_dir  # noqa: F401 - fixtures: a lasting cluster's record
from tests.unit.test_jobs import JOBS, VERSION, _builtin, clean_env, serve  # noqa: F401 - fixtures

NODES = "/api/v0/nodes?limit=10000&detail=false"
HEX = "17d6ad3c42ea51bda4bb505eb696a687101b9bb627cc4a453875cba8"


def camel(key: str) -> str:
    """ray/dashboard/utils.py's to_camel_case: how /api/cluster_status returns the monitor's keys."""
    first, *rest = key.split("_")
    return first + "".join(part.title() for part in rest)


def google(value: Any) -> Any:
    """ray/dashboard/utils.py's to_google_style: every dict key camelCased, recursively."""
    if isinstance(value, dict):
        return {camel(str(k)): google(v) for k, v in value.items()}
    return [google(v) if isinstance(v, dict) else v for v in value] if isinstance(value, list) else value


def node(ip: str, cpu: float, head: bool = False, state: str = "ALIVE") -> dict[str, Any]:
    """A row of the State API's node list (ray.util.state.common.NodeState, as /api/v0/nodes returns it)."""
    res = {"CPU": cpu, "memory": 8e9, "object_store_memory": 2e9, f"node:{ip}": 1.0}
    return {"node_id": HEX, "node_ip": ip, "is_head_node": head, "state": state, "node_name": ip,
            "resources_total": res, "labels": {}}  # fmt: skip


def routes(nodes: list[dict[str, Any]], types: list[str] | None) -> dict[str, tuple[int, bytes]]:
    """The dashboard: version, jobs, the node list and the v1 monitor's report (``types``: its node types; None:
    no report, as with a v2 autoscaler)."""
    listed = {"result": True, "msg": "", "data": {"result": {"total": len(nodes), "result": nodes}}}
    status: dict[str, Any] = {"gcs_request_time": 0.001, "time": 1.0, "monitor_pid": 7}
    if types is not None:
        status["autoscaler_report"] = {
            "active_nodes": {t: 1 for t in types}, "idle_nodes": {}, "pending_nodes": [], "pending_launches": {},
            "failed_nodes": [], "node_type_mapping": {n["node_ip"]: t for n, t in zip(nodes, types, strict=False)},
        }  # fmt: skip
    report = {"autoscaling_status": None, "autoscaling_error": None, "cluster_status": status if types else None}
    reply = {"result": True, "msg": "Got cluster status.", "data": google(report)}
    return {"/api/version": VERSION, "/api/jobs/": JOBS, NODES: (200, json.dumps(listed).encode()),
            "/api/cluster_status": (200, json.dumps(reply).encode())}  # fmt: skip


READONLY = [f"node_{HEX}", f"node_{HEX[::-1]}"]  # the types Ray's monitor invents for nodes no autoscaler manages


def test_the_gcs_port_given_as_the_dashboard_is_not_ray_dashboard() -> None:
    """A real gRPC server (the GCS is one) answers an HTTP GET with an HTTP/2 frame: something listens, it is not
    Ray's dashboard."""
    grpc = pytest.importorskip("grpc")
    from concurrent.futures import ThreadPoolExecutor

    server = grpc.server(ThreadPoolExecutor(1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with pytest.raises(JobsError) as info:
            connect.probe(connect.Target(f"http://127.0.0.1:{port}", {}, None, None))
    finally:
        server.stop(0)
    assert info.value.code == "NOT_RAY_DASHBOARD", info.value.message
    assert "not in HTTP" in info.value.message and "GCS port" in (info.value.hint or "")


def test_submit_checks_the_storage_against_the_clusters_nodes_before_uploading(
    serve: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    server = serve(routes([node("10.0.0.1", 4, head=True), node("10.0.0.2", 4), node("10.0.0.3", 4, state="DEAD")],
                          READONLY))  # fmt: skip
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(_builtin("/srv/raydt_results")))
    doc, code = commands.guarded(
        lambda: commands.submit(str(spec), package.Options(), address=server.url, token_file=None, wait=False, err=None)
    )
    assert code == 2 and doc["error"]["code"] == "SPEC_INVALID", doc
    (issue,) = doc["error"]["issues"]
    assert issue["path"] == "runConfig.storagePath" and "the cluster has 2 nodes" in issue["rule"]
    assert [path for path, _ in server.seen] == ["/api/version", "/api/jobs/", NODES, "/api/cluster_status"]


def _target(url: str, lasting: dict[str, Any] | None = None) -> connect.Target:
    return connect.Target(url, {}, None, lasting)


def _demand(storage: str = "/srv/r", shared: bool = False, workers: int = 1) -> cluster_fit.Demand:
    return cluster_fit.Demand(WorkerPlan(workers, False, {"CPU": 1.0}), storage, shared)


def test_what_the_cluster_can_hold_is_checked_unless_an_autoscaler_may_add_nodes(serve: Any) -> None:  # noqa: F811
    one = [node("10.0.0.1", 2, head=True)]
    fixed = serve(routes(one, READONLY[:1]))
    with pytest.raises(InfeasibleResourcesError, match="can hold only 2"):
        cluster_fit.check(_target(fixed.url), _demand(workers=4))
    cluster_fit.check(_target(fixed.url), _demand(workers=2))  # fits; one node shares its own disk
    scaling = serve(routes(one, ["cpu-workers"]))  # a managed node type: the autoscaler may add nodes
    cluster_fit.check(_target(scaling.url), _demand("s3://b/r", workers=4))
    with pytest.raises(SpecError, match="autoscales"):
        cluster_fit.check(_target(scaling.url), _demand())
    unknown = serve(routes([*one, node("10.0.0.2", 2)], None))  # no monitor report (a v2 autoscaler writes none)
    cluster_fit.check(_target(unknown.url), _demand(shared=True, workers=99))  # resources left to the run
    with pytest.raises(SpecError, match="2 nodes"):
        cluster_fit.check(_target(unknown.url), _demand())
    silent = serve({})  # no node list: nothing to check here, the run checks on the cluster
    cluster_fit.check(_target(silent.url), _demand(workers=99))


def test_the_lasting_clusters_raylets_share_this_machines_disk(serve: Any, spawn: Any) -> None:  # noqa: F811
    rec = _record(spawn("abc123"), workers=1, host="127.0.0.1", address="127.0.0.2:45678")
    server = serve(routes([node("127.0.0.2", 1, head=True), node("127.0.0.3", 1)], READONLY))
    cluster_fit.check(_target(server.url, rec), _demand("/home/me/raydt_results"))  # accepted: same machine
    with pytest.raises(SpecError, match="2 nodes"):  # the same nodes seen as another cluster's
        cluster_fit.check(_target(server.url), _demand("/home/me/raydt_results"))


def test_jobs_stop_of_a_job_that_had_already_ended_says_nothing_was_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class Client:
        def stop_job(self, job_id: str) -> bool:
            calls.append("stop")
            return False  # Ray's JobSubmissionClient: "True if the job was running, otherwise False"

        def get_job_info(self, job_id: str) -> Any:
            calls.append("info")
            return SimpleNamespace(status="JobStatus.SUCCEEDED")

        def get_job_status(self, job_id: str) -> str:
            raise AssertionError("an ended job is not waited for")

    target = _target("http://127.0.0.1:8265")
    monkeypatch.setattr(commands, "_session", lambda address, token: (target, Client(), "2.60.0"))
    doc, code = commands.stop("job-1", None, None)
    doc, code = results.finalize_with_code(doc, code)
    assert code == 0 and doc["jobStopped"] is False and doc["jobStatus"] == "SUCCEEDED", doc
    assert doc["warnings"] == ["job job-1 had already ended (SUCCEEDED): nothing was stopped"]
    assert calls == ["stop", "info"]
