"""Start a lasting Ray cluster with ``ray start`` (head, then worker raylets on this machine) and stop it
by pid. Every port is chosen here (free, on the bind host), Ray gets a temp dir of its own, and token
authentication is on with a token file in the cluster's own folder. Imports no Ray (it runs the ``ray`` CLI)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from raydt.clusters import procs, state
from raydt.clusters.options import LOOPBACK, NodeResources, UpOptions, exposure_warning
from raydt.errors import RunError, UsageError

START_TIMEOUT_S = 120.0
NODE_PORTS = ("node-manager", "object-manager", "metrics-export", "dashboard-agent-listen", "dashboard-agent-grpc",
              "runtime-env-agent")  # fmt: skip
HEAD_PORTS = ("port", "dashboard", "ray-client-server")


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def ray_cli() -> str:
    beside = Path(sys.executable).parent / "ray"
    found = str(beside) if beside.exists() else shutil.which("ray")
    if not found:
        raise RunError("the `ray` command is not installed beside this Python", hint='pip install "ray[default]"')
    return found


def head_python() -> str:
    """The interpreter the cluster's processes run (the one beside the ``ray`` command): a Ray Job's
    entrypoint must name it, since the job's shell finds whatever ``python`` is first on PATH."""
    beside = Path(sys.executable).parent / "ray"
    return sys.executable if beside.exists() else "python"


def _env(cluster_id: str, ray_tmp: str, token_file: Path, loopback_only: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_TOKEN")}
    env.update(
        {
            procs.TAG: cluster_id,
            "RAY_TMPDIR": ray_tmp,
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(token_file),
            # 0: Ray takes 127.0.0.1 as this node's address (instead of the machine's interface address)
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0" if loopback_only else "1",
            "RAY_USAGE_STATS_ENABLED": "0",
        }
    )
    return env


def node_ip(host: str, index: int) -> str:
    """Node ``index``'s address (0: the head). On loopback each node gets its own 127.0.0.x: Ray rewrites
    ``127.0.0.1`` in a joining node's ``--address`` to the machine's interface address (where this GCS does
    not listen), but leaves other loopback addresses alone — and 127.0.0.0/8 never leaves the machine."""
    return f"127.0.0.{2 + index}" if host == "127.0.0.1" else host


def _node_flags(ip: str, res: NodeResources) -> tuple[list[str], dict[str, int]]:
    ports = {name: free_port(ip) for name in NODE_PORTS}
    flags = [f"--node-ip-address={ip}", *res.flags(), *(f"--{k}-port={v}" for k, v in ports.items())]
    return flags, ports


def _ray_start(args: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        try:
            proc = subprocess.run(
                [ray_cli(), "start", "--disable-usage-stats", *args],
                env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=START_TIMEOUT_S,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise RunError(f"`ray start` did not finish within {START_TIMEOUT_S:g}s (its output: {log})") from None
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-8:]
        err = RunError(f"`ray start` failed with exit code {proc.returncode}: {' | '.join(tail)}")
        err.details = {"log": str(log)}
        raise err


def _head_args(host: str, ports: dict[str, int], ray_tmp: str) -> list[str]:
    return [
        "--head",
        f"--port={ports['port']}",
        f"--dashboard-host={host}",
        f"--dashboard-port={ports['dashboard']}",
        "--include-dashboard=true",
        f"--ray-client-server-port={ports['ray-client-server']}",
        f"--temp-dir={ray_tmp}",
    ]


def _refuse_second(existing: dict[str, Any]) -> UsageError:
    err = UsageError(
        f"a cluster started by `raydt cluster up` already runs at {existing.get('address')} "
        f"(dashboard {existing.get('dashboardUrl')}, head pid {existing.get('headPid')}, "
        f"record {state.record_path()})",
        hint="Use it (raydt run finds it), or stop it first: raydt cluster down",
    )
    err.details = {"cluster": public(existing)}
    return err


def clear_stale() -> str | None:
    """Remove the record of a cluster whose head died, stopping what is left of it by pid; a note or None."""
    old = state.read()
    if old is None:
        return None
    cluster_id = str(old.get("id", ""))
    left = procs.tagged(cluster_id) if cluster_id else []
    procs.stop(left, cluster_id)
    _remove_files(old)
    state.remove()
    return f"removed the record of an earlier cluster whose head (pid {old.get('headPid')}) had died" + (
        f"; stopped its remaining processes {left}" if left else ""
    )


#: a failed ``ray start`` is tried again this many times, each with fresh ports (a port picked free can be taken
#: by another process before Ray binds it; seen once in the slow tier as "`ray start` failed with exit code 1")
START_RETRIES = 1


def up(options: UpOptions) -> dict[str, Any]:
    """Start the cluster and record it; raise ``UsageError`` when one already runs."""
    existing = state.running()
    if existing is not None:
        raise _refuse_second(existing)
    notes = [n for n in (clear_stale(),) if n]
    for attempt in range(START_RETRIES + 1):
        try:
            return _up_once(options, notes)
        except RunError as err:  # its processes and files are gone already (``_up_once`` cleans up)
            if attempt == START_RETRIES or "`ray start` failed" not in err.message:
                raise
            notes.append(f"`ray start` failed once ({err.message[:200]}); started again with fresh ports")
    raise AssertionError("unreachable")


def _up_once(options: UpOptions, notes: list[str]) -> dict[str, Any]:
    cluster_id = secrets.token_hex(6)
    folder = state.directory() / cluster_id
    folder.mkdir(mode=0o700, parents=True)
    token_file = folder / "auth_token"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, secrets.token_hex(32).encode())
    os.close(fd)
    ray_tmp = tempfile.mkdtemp(prefix=f"raydt-{cluster_id}-", dir="/tmp")  # short: Ray's socket paths
    env = _env(cluster_id, ray_tmp, token_file, options.loopback)
    host = options.host
    head_ip = node_ip(host, 0)
    head_ports = {name: free_port(head_ip) for name in HEAD_PORTS}
    address = f"{head_ip}:{head_ports['port']}"
    rec: dict[str, Any] = {
        "id": cluster_id, "address": address, "host": host, "nodeIp": head_ip, "folder": str(folder),
        "rayTempDir": ray_tmp,
        "dashboardUrl": f"http://{host}:{head_ports['dashboard']}", "tokenFile": str(token_file),
        "tokenSource": f"file {token_file} (RAY_AUTH_TOKEN_PATH)", "startedAt": time.time(),
        "head": options.head.describe(), "workers": options.workers, "worker": options.worker.describe(),
        "ports": dict(head_ports), "headPid": 0, "pids": [], "python": head_python(),
    }  # fmt: skip
    try:
        flags, ports = _node_flags(head_ip, options.head)
        rec["ports"].update(ports)
        _ray_start(_head_args(host, head_ports, ray_tmp) + flags, env, folder / "ray-start.log")
        worker_env = {**env, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"}  # `ray start --address` refuses 0
        for index in range(1, options.workers + 1):
            flags, _ports = _node_flags(node_ip(host, index), options.worker)
            # a temp dir per raylet, as on separate machines: two runtime-env agents sharing one would unpack
            # a job's working_dir into the same folder, one deleting it under the other's running driver
            own_tmp = f"--temp-dir={ray_tmp}/w{index}"
            _ray_start([f"--address={address}", own_tmp, *flags], worker_env, folder / "ray-start.log")
    except BaseException:
        procs.stop(procs.tagged(cluster_id), cluster_id)
        _remove_files(rec)
        raise
    rec["processes"] = [{"pid": pid, "name": procs.name(pid)} for pid in procs.tagged(cluster_id)]
    rec["pids"] = [p["pid"] for p in rec["processes"]]
    rec["headPid"] = next((p["pid"] for p in rec["processes"] if p["name"].startswith("gcs_server")), 0)
    warning = exposure_warning(options, rec["ports"])
    rec["warnings"] = notes + ([warning] if warning else [])
    if options.idle_stop_s is not None:  # after the record: the watcher reads it
        from raydt.clusters import idle

        rec["idleStopS"] = options.idle_stop_s
        state.write(rec)
        rec["idleWatcherPid"] = idle.start_watcher(cluster_id, options.idle_stop_s, folder / "idle-watcher.log")
    if options.warm:  # runs handed to it start with raydt, Ray and torch imported (clusters.warm)
        from raydt.clusters import warm

        rec["runnerPid"], rec["runnerSocket"] = warm.start(cluster_id, folder)
    state.write(rec)
    state.log_event("up", cluster_id, address=address, idleStopS=options.idle_stop_s)
    return public(rec)


def _remove_files(rec: dict[str, Any]) -> None:
    for key in ("rayTempDir", "folder"):
        if rec.get(key):
            shutil.rmtree(str(rec[key]), ignore_errors=True)
    if rec.get("runnerSocket"):  # in /tmp when the cluster's folder is too deep for a socket's path
        Path(str(rec["runnerSocket"])).unlink(missing_ok=True)


def down(reason: str = "raydt cluster down") -> dict[str, Any]:
    """Stop the recorded cluster (every recorded pid, and every later process with its tag) by pid; ``reason``
    goes into the history ``cluster status`` shows."""
    rec = state.read()
    if rec is None:
        raise UsageError(
            f"no cluster started by `raydt cluster up` is recorded ({state.record_path()})",
            hint="Start one with: raydt cluster up",
        )
    cluster_id = str(rec.get("id", ""))
    pids = sorted(set(int(p) for p in rec.get("pids", [])) | set(procs.tagged(cluster_id)))
    left = procs.stop(pids, cluster_id)
    if left:
        err = RunError(f"processes {left} of the cluster did not stop", hint="Check them with: ps -p PID")
        err.details = {"cluster": public(rec)}
        raise err
    _remove_files(rec)
    state.remove()
    state.log_event("down", cluster_id, reason=reason, upS=round(time.time() - float(rec.get("startedAt") or 0), 1))
    out = public(rec)
    out["stoppedPids"] = pids
    out["running"] = False
    return out


def public(rec: dict[str, Any]) -> dict[str, Any]:
    """What the JSON shows of a record (never the token itself: only where it is)."""
    keys = ("id", "address", "dashboardUrl", "tokenSource", "head", "workers", "worker", "ports", "headPid",
            "processes", "rayTempDir", "startedAt", "warnings", "python", "idleStopS", "idleWatcherPid", "runnerPid",
            "runnerSocket")  # fmt: skip
    out = {k: rec[k] for k in keys if k in rec}
    out["recordFile"] = str(state.record_path())
    out["loopbackOnly"] = rec.get("host") == LOOPBACK
    return out
