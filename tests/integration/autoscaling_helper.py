"""Run by test_autoscaling.py in its own process: a real Ray autoscaler (v1, Ray's fake multi-node provider,
which starts real raylets on this machine) and raydt runs against it.

This process makes itself the subreaper of everything it starts (``ray start`` daemonises the head's
processes, the autoscaler starts node raylets), so it can end them all by pid; their pids also go to
``pids.txt`` for the test to kill should this process itself be killed.
"""

import ctypes
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

# Its own Ray temp dir: `ray start` records its address in <temp>/ray/ray_current_cluster, which every later
# `ray.init()` on this machine would otherwise try to join.
RAY_TMP = tempfile.mkdtemp(prefix="rdt-as-", dir="/tmp")
os.environ["RAY_TMPDIR"] = RAY_TMP
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_AUTH_MODE"] = "disabled"  # a `ray start` cluster and this driver agree on no token
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans of our children become ours

tmp, trainer = sys.argv[1], sys.argv[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def descendants() -> list[int]:
    parent: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parent.setdefault(ppid, []).append(int(entry))
    found, todo = [], [os.getpid()]
    while todo:
        for child in parent.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop_all() -> None:
    pids = descendants()
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.1)
        except ChildProcessError:
            break


port, dashboard = free_port(), free_port()
config = {
    "cluster_name": "raydt-autoscaling-test",
    "max_workers": 1,
    "idle_timeout_minutes": 5,
    "upscaling_speed": 1.0,
    "provider": {
        "type": "fake_multinode",
        "gcs_address": f"127.0.0.1:{port}",
        "disable_node_updaters": True,  # nodes are raylets here: nothing to ssh into or set up
        "disable_launch_config_check": True,
        "use_node_id_as_ip": True,
    },
    "auth": {"ssh_user": "ubuntu"},
    "available_node_types": {
        "ray.head.default": {"resources": {"CPU": 1}, "node_config": {}, "max_workers": 0},
        "extra": {"resources": {"CPU": 1, "extra": 1}, "node_config": {}, "min_workers": 0, "max_workers": 1},
    },
    "head_node_type": "ray.head.default",
    **{k: {} for k in ("file_mounts",)},
    **{
        k: []
        for k in (
            "cluster_synced_files",
            "rsync_exclude",
            "rsync_filter",
            "initialization_commands",
            "setup_commands",
            "head_setup_commands",
            "worker_setup_commands",
            "head_start_ray_commands",
            "worker_start_ray_commands",
        )
    },
    "file_mounts_sync_continuously": False,
}
config_path = os.path.join(tmp, "autoscaling.json")
with open(config_path, "w") as f:
    json.dump(config, f)
env = dict(os.environ, AUTOSCALER_UPDATE_INTERVAL_S="1", RAY_FAKE_CLUSTER="1")
ray_cli = os.path.join(os.path.dirname(sys.executable), "ray")
try:
    subprocess.run(
        [ray_cli, "start", "--head", f"--port={port}", "--num-cpus=1", "--node-ip-address=127.0.0.1",
         f"--dashboard-port={dashboard}", f"--autoscaling-config={config_path}"],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip
    with open(os.path.join(tmp, "pids.txt"), "w") as f:
        f.write(" ".join(map(str, descendants())))
    time.sleep(3)  # the monitor writes its first report within a second or two

    import raydt

    def spec(name: str, custom: dict, timeout: float, **run: object) -> dict:
        return {
            "mode": "train",
            "config": {
                "address": f"127.0.0.1:{port}",
                "numWorkers": 1,
                "resourcesPerWorker": {"cpu": 1, "custom": custom},
            },
            "trainConfig": {"trainerPath": trainer, "epochs": 2, "metric": "loss", "metricMode": "min"},
            "runConfig": {"storagePath": tmp, "name": name, "pendingTimeoutS": timeout, **run},
        }

    # 1. a local storage path on an autoscaling cluster (one node now) is a spec error
    local = raydt.run(spec("local", {"extra": 1}, 30))
    # 2. fits only on a node the autoscaler adds: a warning, a bounded wait, and success on the new node
    grows = raydt.run(spec("grows", {"extra": 1}, 180, sharedStorage=True))
    # 3. no node type has the resource: the wait ends after pendingTimeoutS with PENDING_TIMEOUT
    start = time.monotonic()
    never = raydt.run(spec("never", {"missing": 1}, 10, sharedStorage=True))
    waited = time.monotonic() - start
    print(json.dumps({"grows": grows, "never": never, "waited": waited, "local": local}), flush=True)
finally:
    stop_all()
    shutil.rmtree(RAY_TMP, ignore_errors=True)
