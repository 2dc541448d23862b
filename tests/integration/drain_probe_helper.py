"""Run by test_preemption.py in a process of its own: a 2-node cluster (``ray.cluster_utils``), an actor pinned to
the extra node asks ``ray_compat.train.node_drained`` (what a 1-worker trial's ``ray.train.get_preemption_info``
answers) before and after ``ray drain-node`` drains that node; prints one JSON line."""

import json
import os
import subprocess
import sys
import time

import ray
from ray.cluster_utils import Cluster
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

DEADLINE_S = 20
cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
seen: dict = {}
try:
    extra = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address)

    @ray.remote(num_cpus=1)
    class Probe:
        def look(self) -> dict:
            from raydt.ray_compat.train import node_drained

            info = node_drained()
            node = ray.get_runtime_context().get_node_id()
            if info is None:
                return {"node": node, "drained": None}
            return {"node": node, "drained": {"deadlineMs": info.deadline_ms, "ranks": info.preempted_node_to_ranks}}

    probe = Probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(extra.node_id, soft=False)).remote()
    seen["extra"] = extra.node_id
    seen["before"] = ray.get(probe.look.remote())
    ray_cli = os.path.join(os.path.dirname(sys.executable), "ray")
    drain = subprocess.run(
        [ray_cli, "drain-node", "--address", cluster.address, "--node-id", extra.node_id, "--reason",
         "DRAIN_NODE_REASON_PREEMPTION", "--reason-message", "test", "--deadline-remaining-seconds", str(DEADLINE_S)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    seen.update(drainRc=drain.returncode, drainErr=drain.stderr[-2000:], drainedAtMs=int(time.time() * 1000))
    seen["after"] = ray.get(probe.look.remote())
finally:
    ray.shutdown()
    cluster.shutdown()
print(json.dumps(seen), flush=True)
