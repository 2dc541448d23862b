"""Run by test_preemption.py in its own process: a head (2 CPUs) and a 1-CPU worker node (separate raylets) on
this machine, a 2-worker raydt train run (the built-in PyTorch loop, one worker on each node), and the worker node
drained for preemption mid-run with Ray's own CLI (what the autoscaler and KubeRay call), then killed after the
drain's deadline (or, given a 4th argument, that many seconds after the drain). With a 5th argument ``solo``: a
head with no CPU and two 1-CPU worker nodes, a 1-worker run (the fast path: one actor), and the node that actor
runs on drained and killed; ``search``: the same cluster and a 1-trial search of that loop (the trial's actor's
node drained and killed); ``elastic``: a 1-CPU head, an elastic run of 1 to 2 workers, one on each node, that goes
on with the head's one worker. Prints one JSON line: the run's result and what the helper saw."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
# each report takes about this long (Ray Train's controller polls at this pace): epochs of a known length, so the
# drain window (the deadline) spans several epochs; set before the raylets start, which hand it to every worker
os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] = "1.0"

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

import raydt  # noqa: E402
from raydt.experiment import TRAIN_LEDGER  # noqa: E402

tmp, epochs, deadline_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kill_after_s = float(sys.argv[4]) if len(sys.argv) > 4 else deadline_s + 2  # the node goes after its deadline
variant = sys.argv[5] if len(sys.argv) > 5 else "ray-train"
solo = variant in ("solo", "search")  # one process trains: a head without CPUs, two 1-CPU nodes
ledger = os.path.join(tmp, "preempted", TRAIN_LEDGER)


def reported() -> list[int]:
    """The epochs the run reported so far, from its train ledger (a search: its trial's result.json)."""
    if variant == "search":
        import glob

        rows = []
        for path in glob.glob(os.path.join(tmp, "preempted", "*", "result.json")):
            with open(path, encoding="utf-8") as fh:
                rows += [json.loads(line) for line in fh if line.strip()]
        return [int(r["epoch"]) for r in rows if "epoch" in r]
    if not os.path.exists(ledger):
        return []
    with open(ledger, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [int(r["metrics"]["epoch"]) for r in rows if r.get("event") == "report" and "metrics" in r]


with socket.socket() as probe:  # a free loopback port for this cluster's dashboard
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
cluster = Cluster(
    initialize_head=True,
    head_node_args={
        "num_cpus": 0 if solo else 1 if variant == "elastic" else 2,
        "include_dashboard": True,
        "dashboard_port": port,
    },
)
seen: dict = {}
try:
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2 if solo else 1)]
    extra = nodes[0]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address)
    spec = {
        "mode": "train",
        "config": {
            "numWorkers": 1 if solo else {"min": 1, "max": 2} if variant == "elastic" else 2,
            "resourcesPerWorker": {"cpu": 1},
        },
        "trainConfig": {
            "framework": "pytorch",
            "epochs": epochs,
            # the fast path has no controller pacing the reports: a wider layer makes its epochs ~1 s too
            "trainLoopConfig": {"batchSize": 8, "hiddenSize": 1024 if solo else 256},
            "scalingConfig": {"placementStrategy": "SPREAD"},  # one worker on each node
        },
        "runConfig": {
            "storagePath": tmp,
            "name": "preempted",
            "sharedStorage": True,
            "maxFailures": 0,  # a preemption must not use it up
            "checkpoint": {"frequency": 1000},  # the last epoch only: what else is saved, the drain notice saved
        },
    }
    if variant == "elastic":  # Ray Train sizes the restart by what it sees, the drained node too: a group it cannot
        spec["runConfig"]["pendingTimeoutS"] = 30  # place waits this long, then is sized again without that node
    if variant == "search":  # the same loop as a 1-trial search (the trial runs the loop in its own process)
        spec["mode"] = "tune"
        spec["tuneConfig"] = {
            "searchSpace": {"lr": 0.01},
            "numSamples": 1,
            "metric": "val_loss",
            "mode": "min",
            "maxFailuresPerTrial": 0,  # a preemption must not use it up either
        }
    box: dict = {}
    runner = threading.Thread(target=lambda: box.update(out=raydt.run(spec)), daemon=True)
    runner.start()
    started = time.monotonic()
    while time.monotonic() - started < 240 and len(reported()) < 3:
        time.sleep(0.2)
    seen["drainedAfterEpoch"] = max(reported(), default=0)
    if solo:  # the node the run's one actor (the trial's, in a search) is on
        from ray.util.state import list_actors

        name = "ImplicitFunc" if variant == "search" else "SoloWorker"
        actor = list_actors(filters=[("class_name", "=", name), ("state", "=", "ALIVE")])[0]
        extra = next(n for n in nodes if n.node_id == actor.node_id)
    drain = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "ray"),
            "drain-node",
            "--address",
            cluster.address,
            "--node-id",
            extra.node_id,
            "--reason",
            "DRAIN_NODE_REASON_PREEMPTION",
            "--reason-message",
            "test",
            "--deadline-remaining-seconds",
            str(deadline_s),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    drained_at = time.monotonic()
    seen.update(drainRc=drain.returncode, drainErr=drain.stderr[-2000:])
    time.sleep(kill_after_s)  # the node goes (by its raylet's pid), after its deadline as a spot node does, or before
    seen["epochsAtKill"] = max(reported(), default=0)
    cluster.remove_node(extra, allow_graceful=False)
    seen["killedAfterS"] = round(time.monotonic() - drained_at, 1)
    runner.join(timeout=400)
    seen["out"] = box.get("out")
    seen["epochs"] = reported()
finally:
    print(json.dumps(seen), flush=True)
    ray.shutdown()
    cluster.shutdown()
