"""``mode: cluster``: connect (or start an embedded Ray) and report what the cluster has."""

from __future__ import annotations

from typing import Any

from raydt import plan, ray_session
from raydt.progress import ProgressView
from raydt.results import Document
from raydt.results.model import ClusterStatus
from raydt.spec.loader import LoadedSpec


def run_cluster(loaded: LoadedSpec, view: ProgressView) -> dict[str, Any]:
    """Cluster status: ``clusterStatus`` with per-node detail and available vs total resources."""
    address = plan.address(loaded)
    view.event(f"connecting to {ray_session.describe(address)}")
    with ray_session.connect(address, loaded.spec.config.ray_init):
        status = ray_session.cluster_status(loaded.spec.config.autoscaling)
    status.update(ray_session.connection())  # address ("embedded" for none or "local") and source
    view.event(f"{status['numNodes']} node(s), {status['totalCpu']:g} CPU, {status['totalGpu']:g} GPU")
    return result(status)


def result(status: dict[str, Any]) -> dict[str, Any]:
    """The result of ``mode: cluster``: nothing trained, the cluster's status; with the history of this state
    folder's lasting clusters when there is one (up, down, and the reason: a user, or ``--idle-stop``)."""
    from raydt.clusters import state

    doc = Document(cluster_status=ClusterStatus.model_validate(status), mode="cluster")
    events = state.history()
    if events:
        doc.lasting_cluster = {"history": events}
    return doc.dump()
