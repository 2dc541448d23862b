"""Preflight: a request that can never fit fails at once, naming what would fit."""

from __future__ import annotations

from typing import Any

import pytest

from raydt.errors import InfeasibleResourcesError
from raydt.plan import WorkerPlan
from raydt.preflight import check_workers, max_workers


def status(*nodes: tuple[float, float]) -> dict[str, Any]:
    rows = [{"cpu": c, "gpu": g, "customResources": {}} for c, g in nodes]
    return {"nodes": rows, "totalCpu": sum(c for c, _ in nodes), "totalGpu": sum(g for _, g in nodes)}


def test_gpu_request_on_cpu_only_cluster() -> None:
    plan = WorkerPlan(4, True, {"CPU": 2.0, "GPU": 1.0})
    with pytest.raises(InfeasibleResourcesError) as info:
        check_workers(plan, status((8, 0)))
    assert "needs 4 GPU" in info.value.message and "the cluster has 0 GPU" in info.value.message
    assert "useGpu=false" in info.value.hint
    assert info.value.code == "INFEASIBLE_RESOURCES"


def test_worker_larger_than_any_node() -> None:
    with pytest.raises(InfeasibleResourcesError) as info:
        check_workers(WorkerPlan(1, False, {"CPU": 4.0}), status((2, 0), (2, 0)))
    assert "at most 2" in info.value.hint


def test_too_many_workers_for_the_nodes_names_the_largest_count_that_fits() -> None:
    with pytest.raises(InfeasibleResourcesError) as info:
        check_workers(WorkerPlan(3, False, {"CPU": 1.5}), status((2, 0), (2, 0)))
    assert "numWorkers to at most 2" in info.value.hint  # 1.5 CPU bundles: one per 2-CPU node


def test_fitting_request_passes_and_capacity_counts_bundles() -> None:
    check_workers(WorkerPlan(2, False, {"CPU": 1.0}), status((2, 0)))
    check_workers(WorkerPlan(4, True, {"CPU": 1.0, "GPU": 0.5}), status((4, 2)))
    assert (
        max_workers({"CPU": 1.0, "GPU": 0.5}, status((4, 2), (1, 1))) == 5
    )  # 4 on the first node (CPU-bound), 1 on the second


def test_memory_and_custom_resources_are_requested_and_checked() -> None:
    from raydt import plan
    from raydt.errors import SpecError
    from raydt.preflight import check_storage
    from raydt.spec import load

    cfg = {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1, "memoryGb": 2, "custom": {"fpga": 1}}}
    workers = plan.workers(load({"mode": "train", "config": cfg}))
    assert workers.resources == {"CPU": 1.0, "memory": 2e9, "fpga": 1.0}
    node = {"cpu": 8, "gpu": 0, "memoryBytes": 16e9, "customResources": {}}
    st = {"nodes": [node], "totalCpu": 8, "totalGpu": 0, "numNodes": 1}
    with pytest.raises(InfeasibleResourcesError) as info:
        check_workers(workers, st)
    assert "fpga" in info.value.message and "ray start --resources" in info.value.hint
    node["customResources"] = {"fpga": 1}
    with pytest.raises(InfeasibleResourcesError, match="hold only 1"):
        check_workers(workers, st)  # one fpga: one worker fits, not two
    node["customResources"] = {"fpga": 2}
    check_workers(workers, st)
    big = WorkerPlan(1, False, {"CPU": 1.0, "memory": 32e9})
    with pytest.raises(InfeasibleResourcesError) as info:
        check_workers(big, st)
    assert "memoryGb to at most 16.00" in info.value.hint

    multi = {**st, "numNodes": 3}
    check_storage("s3://bucket/runs", False, multi)
    check_storage("/mnt/nfs/runs", True, multi)
    check_storage("/tmp/runs", False, st)
    with pytest.raises(SpecError) as err:
        check_storage("/tmp/runs", False, multi)
    assert err.value.issues[0].path == "runConfig.storagePath" and "sharedStorage" in err.value.issues[0].hint


# What Ray 2.60's monitor wrote to the GCS (key __autoscaling_status), recorded on this machine: an embedded
# `ray.init()` (read-only provider) and a `ray start --head --autoscaling-config` fake-multinode cluster.
READONLY_REPORT = (
    '{"autoscaler_report": {"active_nodes": {"node_fb7d17c14381975597c86597a6cede4fbf3a30bdaa0bb5acc7a72f7c": 1},'
    ' "pending_nodes": [], "pending_launches": {}, "failed_nodes": [], "node_type_mapping": '
    '{"fb7d17c14381975597c86597a6cede4fbf3a30bdaa0bb5acc7a72f7c": '
    '"node_fb7d17c14381975597c86597a6cede4fbf3a30bdaa0bb5acc7a72f7c"}, "legacy": true}}'
)
AUTOSCALER_REPORT = (
    '{"autoscaler_report": {"active_nodes": {}, "pending_nodes": [["fffffffffffffffffffffffffffffffffffffffffff'
    'ffffffff00001", "extra", "uninitialized"]], "pending_launches": {}, "failed_nodes": [], "pending_resources":'
    ' {"CPU": 1, "extra": 1}, "node_type_mapping": {"fffffffffffffffffffffffffffffffffffffffffffffffffff00000": '
    '"ray.head.default"}, "legacy": true}}'
)


def test_autoscaler_detection_reads_the_monitors_report() -> None:
    from raydt.ray_session import autoscaler_node_types

    assert autoscaler_node_types(READONLY_REPORT) is None  # a cluster Ray only observes
    assert autoscaler_node_types(AUTOSCALER_REPORT) == ["extra", "ray.head.default"]
    assert autoscaler_node_types(None) is None
    assert autoscaler_node_types(b"not json") is None
    assert autoscaler_node_types('{"autoscaler_report": null}') is None


def test_autoscaling_cluster_turns_infeasible_into_a_bounded_wait() -> None:
    from raydt.preflight import admit

    gpu = WorkerPlan(2, True, {"CPU": 1.0, "GPU": 1.0})
    fixed = status((4, 0))
    with pytest.raises(InfeasibleResourcesError):
        admit(gpu, {**fixed, "autoscaler": None}, 60)
    scaling = {**fixed, "autoscaler": {"version": "v1", "nodeTypes": ["gpu_node", "ray.head.default"]}}
    warning = admit(gpu, scaling, 60)
    assert warning is not None
    assert "needs 2 GPU" in warning and "autoscales (node types: gpu_node, ray.head.default)" in warning
    assert "pendingTimeoutS (60s)" in warning
    assert admit(WorkerPlan(2, False, {"CPU": 1.0}), scaling, 60) is None  # fits now: nothing to say


def test_local_storage_on_an_autoscaling_single_node_cluster_is_an_error() -> None:
    from raydt.errors import SpecError
    from raydt.preflight import check_storage

    one = {**status((2, 0)), "numNodes": 1}
    check_storage("/tmp/x", False, {**one, "autoscaler": None})
    with pytest.raises(SpecError) as info:
        check_storage("/tmp/x", False, {**one, "autoscaler": {"version": "v2", "nodeTypes": []}})
    assert "autoscales" in str(info.value.issues[0].rule)
    check_storage("/tmp/x", True, {**one, "autoscaler": {"version": "v2", "nodeTypes": []}})
    check_storage("s3://b/x", False, {**one, "autoscaler": {"version": "v2", "nodeTypes": []}})
