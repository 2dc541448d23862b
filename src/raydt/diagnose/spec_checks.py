"""What a spec needs from this machine, checked without Ray: the modules it imports (in a child process, so a
package that is present but broken shows), the storage folder, memory, the serve port, and whether one worker
(or trial) fits the machine's CPUs and GPUs when no cluster is given."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from raydt.diagnose.checks import Check, fail, gb, ok, warn
from raydt.diagnose.host import gpu_devices, meminfo
from raydt.plan import TrainPlan, WorkerPlan

#: free space below which a run is unlikely to write its checkpoints (fail), or may run short (warn)
DISK_FAIL_BYTES, DISK_WARN_BYTES = 100e6, 2e9
IMPORT_TIMEOUT_S = 180

#: run in a child process: import each module, report its version or its error; torch also says what it sees
_PROBE = """
import importlib, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        mod = importlib.import_module(name)
        row = {"ok": True, "version": str(getattr(mod, "__version__", ""))}
        if name == "torch":
            row["cuda"] = mod.version.cuda
            row["cudaAvailable"] = bool(mod.cuda.is_available())
            row["devices"] = int(mod.cuda.device_count())
    except BaseException as exc:
        row = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    out[name] = row
print(json.dumps(out))
"""


def needed_modules(loaded: Any, plan: TrainPlan | None) -> dict[str, str]:
    """module -> the pip extra that installs it: the framework's, then the searcher's and the scheduler's."""
    from raydt.registry import SCHEDULERS, SEARCHERS

    needed: dict[str, str] = {}
    if plan is not None:
        needed.update({m: plan.framework.extra for m in plan.framework.modules})
    serve = loaded.spec.serve_config
    if loaded.spec.mode == "serve" and serve is not None:  # the predictor imports the checkpoint's framework
        from raydt.frameworks.checkpoint_format import read_meta
        from raydt.registry import FRAMEWORKS

        meta = (read_meta(serve.checkpoint_path) if serve.checkpoint_path else None) or {}
        served = FRAMEWORKS.get(str(serve.framework or meta.get("framework")))
        if served is not None:
            needed.update({m: served.extra for m in served.modules})
    tc = loaded.spec.tune_config
    if loaded.spec.mode == "tune" and tc is not None:
        from raydt.plan import tune

        tp = tune(loaded)
        for part in (SEARCHERS[tp.searcher], SCHEDULERS[tp.scheduler]):
            needed.update({m: part.extra for m in part.modules})
    return needed


def import_probe(modules: list[str]) -> dict[str, dict[str, Any]]:
    """Import ``modules`` in a child Python (this process stays light, and a stub or broken install shows)."""
    if not modules:
        return {}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, *modules], capture_output=True, text=True, timeout=IMPORT_TIMEOUT_S
        )
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    except (subprocess.TimeoutExpired, ValueError, IndexError, OSError) as exc:
        return {m: {"ok": False, "error": f"the import probe failed: {exc}"} for m in modules}


def extras_checks(needed: dict[str, str], probe: dict[str, dict[str, Any]], use_gpu: bool) -> list[Check]:
    checks = []
    for module, extra in needed.items():
        row = probe.get(module, {"ok": False, "error": "not probed"})
        if row.get("ok"):
            checks.append(ok(f"import {module}", f"{module} {row.get('version', '')}".strip()))
        else:
            checks.append(
                fail(
                    f"import {module}",
                    str(row.get("error")),
                    f"pip install 'ray-distributed-trainer[{extra}]' (on every node of the cluster)",
                )
            )
    torch = probe.get("torch")
    if torch and torch.get("ok"):
        found = (
            f"torch sees {torch['devices']} CUDA device(s), CUDA available: {torch['cudaAvailable']}, "
            f"build: {'CUDA ' + str(torch['cuda']) if torch.get('cuda') else 'CPU'}"
        )
        if use_gpu and not torch["cudaAvailable"]:
            checks.append(
                fail(
                    "gpu (torch)",
                    found,
                    "Install a CUDA build of torch on a machine with GPUs, or set config.useGpu: false.",
                )
            )
        else:
            checks.append(ok("gpu (torch)", found))
    return checks


def storage_check(storage: str) -> Check:
    """The storage folder: a URI is left to its filesystem; a local path must be a folder (or creatable under one)
    that this process can write, with free space."""
    if "://" in storage:
        return ok("storage", f"{storage} (a URI: reached through its filesystem at run time, not checked here)")
    path = Path(storage)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return fail(
            "storage",
            f"{storage}: {existing} is not a folder",
            "Point runConfig.storagePath at a folder (or a path that can be created as one).",
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".raydt-doctor-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return fail(
            "storage",
            f"{storage}: cannot write in {existing} ({exc.strerror or exc})",
            "Point runConfig.storagePath at a folder you can write (default ~/raydt_results).",
        )
    st = os.statvfs(existing)
    free = st.f_bavail * st.f_frsize
    found = f"{storage}: writable, {gb(free)} free"
    if free < DISK_FAIL_BYTES:
        return fail("storage", found, "Free disk space there, or point runConfig.storagePath elsewhere.")
    if free < DISK_WARN_BYTES:
        return warn("storage", found, "Checkpoints may not fit: free disk space or lower checkpoint.numToKeep.")
    return ok("storage", found)


def memory_check(workers: WorkerPlan, copies: int, available: int, where: str) -> Check:
    """What the spec reserves (resourcesPerWorker.memoryGb x workers x trials at once) against ``available``."""
    per = workers.resources.get("memory", 0.0)
    if not per:
        return ok(
            "memory",
            f"{gb(available)} available on {where}; the spec reserves none (config.resourcesPerWorker.memoryGb unset)",
        )
    asked = per * workers.num_workers * copies
    found = f"the spec reserves {gb(asked)} ({workers.num_workers} worker(s) x {gb(per)} x {copies} at once)"
    found += f"; {gb(available)} available on {where}"
    if asked > available:
        return fail(
            "memory",
            found,
            "Lower config.resourcesPerWorker.memoryGb, numWorkers or "
            "tuneConfig.maxConcurrentTrials, or run on a cluster with more memory.",
        )
    return ok("memory", found)


def local_fit_check(workers: WorkerPlan, ray_init: dict[str, Any]) -> Check:
    """Without a cluster: would one run's workers fit an embedded Ray on this machine (preflight's rule)?"""
    from raydt.errors import InfeasibleResourcesError
    from raydt.preflight import check_workers

    cpus = float(ray_init.get("num_cpus") or os.cpu_count() or 1)
    given = ray_init.get("num_gpus")
    gpus = float(given) if isinstance(given, int | float) else float(gpu_devices())
    node = {"cpu": cpus, "gpu": gpus, "memoryBytes": meminfo().get("MemAvailable", 0), "customResources": {}}
    found = f"this machine: {cpus:g} CPU, {gpus:g} GPU for an embedded Ray"
    try:
        check_workers(workers, {"nodes": [node], "numNodes": 1})
    except InfeasibleResourcesError as err:
        return fail("resources", f"{found}; {err.message}", err.hint)
    return ok("resources", f"{found}; {workers.num_workers} worker(s) x {workers.resources} fit")


def port_check(host: str, port: int) -> Check:
    """serveConfig.port must be free on serveConfig.host."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return fail(
                    "port",
                    f"serveConfig.port {port} on {host} is taken by another process",
                    f"Set serveConfig.port to a free port, or stop what listens there (`raydt serve "
                    f"shutdown --port {port}` if it is a raydt serve run).",
                )
            return fail(
                "port",
                f"cannot bind {host}:{port}: {exc.strerror or exc}",
                "Set serveConfig.host to an address of this machine (default 127.0.0.1).",
            )
    return ok("port", f"serveConfig.port {port} on {host} is free")
