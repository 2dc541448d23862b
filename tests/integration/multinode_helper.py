"""Run by test_multinode.py in its own process: a head and two 1-CPU worker nodes (separate raylets) on
this machine, an elastic raydt train run on them, and the loss of one worker node mid-run."""

import json
import os
import socket
import sys
import threading
import time

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

import raydt  # noqa: E402

tmp, log, trainer = sys.argv[1], sys.argv[2], sys.argv[3]
with socket.socket() as probe:  # a free loopback port for this cluster's dashboard
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
cluster = Cluster(
    initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": True, "dashboard_port": port}
)
workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
cluster.wait_for_nodes()
ray.init(address=cluster.address)
spec = {
    "mode": "train",
    "config": {"numWorkers": {"min": 1, "max": 2}, "resourcesPerWorker": {"cpu": 1}},
    "trainConfig": {
        "trainerPath": trainer,
        "trainLoopConfig": {"log": log, "sleep": 1.0},
        "epochs": 8,
        "metric": "loss",
    },
    "runConfig": {"storagePath": tmp, "sharedStorage": True, "pendingTimeoutS": 15, "name": "multinode"},
}
box = {}
runner = threading.Thread(target=lambda: box.update(out=raydt.run(spec)), daemon=True)
runner.start()
deadline = time.monotonic() + 240
while time.monotonic() < deadline and not (os.path.exists(log) and "done 3" in open(log).read()):
    time.sleep(0.2)
cluster.remove_node(workers[1], allow_graceful=False)  # a worker node dies mid-run
runner.join(timeout=400)
print(json.dumps(box.get("out")), flush=True)
ray.shutdown()
cluster.shutdown()
