"""raydt doctor without Ray: the conditions are made for real (a framework hidden by a stub that fails to import,
a storage path under /proc or below a file, a serve port another socket holds), and doctor runs as the CLI does."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from raydt.diagnose import host, nodes
from raydt.diagnose import spec_checks as sc
from raydt.plan import WorkerPlan
from tests.conftest import ROOT, assert_seed_output, free_port


def doctor(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """``python -m raydt doctor ARGS`` as a real process: (exit code, the JSON, the summary on stderr)."""
    proc = subprocess.run([sys.executable, "-m", "raydt", "doctor", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, **(env or {})})  # fmt: skip
    doc = json.loads(proc.stdout)
    assert_seed_output(doc)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, doc, proc.stderr


def by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in doc["checks"]}


def test_without_spec_or_address_nothing_heavy_is_imported() -> None:
    code = (
        "import io, sys, contextlib\nfrom raydt import cli\nout = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):\n"
        "    rc = cli.main(['doctor'])\n"
        "print(rc, sorted(m for m in ('ray', 'torch', 'tensorflow', 'xgboost') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.stdout.strip() == "0 []", proc.stdout + proc.stderr


def test_the_summary_goes_to_stderr_and_the_checks_to_stdout() -> None:
    code, doc, err = doctor()
    assert code == 0 and doc["status"] == "success"
    names = by_name(doc)
    assert {"python", "ray", "frameworks", "gpu", "shm", "auth"} <= set(names)
    assert names["ray"]["found"].startswith("ray 2.") and names["gpu"]["found"].endswith("build")
    assert "[ok  ] python:" in err and err.rstrip().endswith("failed")


def test_a_framework_that_fails_to_import_fails_the_check_and_names_the_extra(tmp_path: Path) -> None:
    stub = tmp_path / "shadow" / "torch"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('torch is broken in this environment (test stub)')\n")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"mode": "train", "config": {}, "runConfig": {"storagePath": str(tmp_path / "s")}}))
    code, doc, err = doctor(str(spec), env={"PYTHONPATH": str(stub.parent)})
    assert code == 1 and doc["error"]["code"] == "ENVIRONMENT_NOT_READY" and "import torch" in doc["error"]["message"]
    check = by_name(doc)["import torch"]
    assert check["status"] == "fail" and "ImportError: torch is broken" in check["found"]
    assert "ray-distributed-trainer[pytorch]" in check["fix"] and "[FAIL] import torch" in err
    assert by_name(doc)["gpu"]["found"].endswith("torch not installed")  # the stub has no version.py


@pytest.mark.skipif(host.gpu_devices() > 0, reason="the failures of a machine without GPUs")
def test_a_gpu_spec_on_a_cpu_machine_and_a_broken_searcher_fail_with_their_fixes(tmp_path: Path) -> None:
    stub = tmp_path / "shadow" / "optuna"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('optuna is broken here (test stub)')\n")
    space = {"lr": {"type": "loguniform", "min": 0.001, "max": 0.1}}
    tune = {"searchAlgorithm": "optuna", "numSamples": 2, "searchSpace": space}
    body = {"mode": "tune", "config": {"useGpu": True}, "tuneConfig": tune, "runConfig": {"storagePath": str(tmp_path)}}
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(body))
    code, doc, err = doctor(str(spec), env={"PYTHONPATH": str(stub.parent)})
    checks = by_name(doc)
    assert code == 1 and doc["error"]["code"] == "ENVIRONMENT_NOT_READY"
    assert checks["import optuna"]["status"] == "fail" and "optuna is broken" in checks["import optuna"]["found"]
    assert "ray-distributed-trainer[tune]" in checks["import optuna"]["fix"]
    assert checks["gpu (torch)"]["status"] == "fail" and "CUDA available: False" in checks["gpu (torch)"]["found"]
    assert "useGpu: false" in checks["gpu (torch)"]["fix"]
    assert checks["resources"]["status"] == "fail" and "needs 1 GPU" in checks["resources"]["found"]
    assert "[FAIL] gpu (torch)" in err


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: "/proc/raydt-doctor/storage", "cannot write in /proc"),
        (lambda tmp: str(_file(tmp) / "storage"), "is not a folder"),
    ],
    ids=["proc", "below-a-file"],
)
def test_a_storage_path_that_cannot_be_written_fails(tmp_path: Path, make: Any, expected: str) -> None:
    check = sc.storage_check(make(tmp_path))
    assert check.status == "fail" and expected in check.found and "runConfig.storagePath" in check.fix


def _file(tmp: Path) -> Path:
    path = tmp / "a-file"
    path.write_text("")
    return path


def test_a_writable_storage_path_reports_its_free_space_and_leaves_nothing(tmp_path: Path) -> None:
    check = sc.storage_check(str(tmp_path / "new" / "storage"))
    assert check.status in ("ok", "warn") and "GB free" in check.found
    assert list(tmp_path.iterdir()) == []  # the probe file is gone, no folder created
    assert sc.storage_check("s3://bucket/raydt").status == "ok"


def test_a_taken_serve_port_fails_the_doctor(tmp_path: Path) -> None:
    port = free_port()
    spec = tmp_path / "serve.json"
    spec.write_text(json.dumps({"mode": "serve", "config": {}, "serveConfig": {"checkpointPath": str(tmp_path),
                                "port": port}, "runConfig": {"storagePath": str(tmp_path / "s")}}))  # fmt: skip
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        code, doc, _ = doctor(str(spec), "-q")
    assert code == 1 and by_name(doc)["port"]["status"] == "fail" and f"port {port}" in by_name(doc)["port"]["found"]
    assert sc.port_check("127.0.0.1", port).status == "ok"  # free again once the holder closed


def test_an_invalid_spec_is_exit_2_with_the_host_checks_kept(tmp_path: Path) -> None:
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps({"mode": "train", "config": {"numWorkers": 0}}))
    code, doc, _ = doctor(str(spec), "-q")
    assert code == 2 and doc["error"]["code"] == "SPEC_INVALID"
    assert by_name(doc)["spec"]["status"] == "fail" and by_name(doc)["python"]["status"] == "ok"


def test_workers_that_cannot_fit_this_machine_fail_before_any_ray() -> None:
    too_many = WorkerPlan(num_workers=2, use_gpu=True, resources={"CPU": 1.0, "GPU": 1.0})
    check = sc.local_fit_check(too_many, {"num_gpus": 0})
    assert check.status == "fail" and "GPU" in check.found and "useGpu" in check.fix
    fits = WorkerPlan(num_workers=1, use_gpu=False, resources={"CPU": 1.0})
    assert sc.local_fit_check(fits, {"num_cpus": 2}).status == "ok"


def test_memory_the_spec_reserves_is_compared_with_what_is_available() -> None:
    workers = WorkerPlan(num_workers=2, use_gpu=False, resources={"CPU": 1.0, "memory": 4e9})
    assert sc.memory_check(workers, 2, int(20e9), "here").status == "ok"
    short = sc.memory_check(workers, 2, int(10e9), "here")
    assert short.status == "fail" and "16.0 GB" in short.found and "maxConcurrentTrials" in short.fix


def test_a_dashboard_beyond_loopback_is_the_shadowray_warning() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert "127.0.0.1" in host.listening_hosts(port)
        local = host.dashboard_check(f"http://127.0.0.1:{port}", "test")
    assert local.status == "ok" and "listening on 127.0.0.1" in local.found
    exposed = host.dashboard_check("http://10.1.2.3:8265", "test")
    assert exposed.status == "warn" and "ShadowRay" in exposed.fix
    assert host.exposed("0.0.0.0") and host.exposed("::") and not host.exposed("::1")


def test_versions_that_differ_between_nodes_fail_naming_them() -> None:
    driver = {"python": "3.11.7", "versions": {"ray": "2.60.0", "torch": "2.13.0"}}
    rows = {"a" * 40: driver, "b" * 40: {"python": "3.11.7", "versions": {"ray": "2.59.1", "torch": "2.13.0"}}}
    check = nodes.versions_check(rows, driver)
    assert check.status == "fail" and "ray: 2.59.1 on node bbbbbbbb; 2.60.0 on driver, node aaaaaaaa" in check.found
    assert nodes.versions_check({"a" * 40: driver}, driver).status == "ok"


def test_a_module_imported_differently_on_one_node_fails_naming_the_node_and_both_versions() -> None:
    driver = {"python": "3.11.7", "versions": {"ray": "2.60.0"}, "modules": {"xgboost": "3.2.0"}}
    stub = {**driver, "modules": {"xgboost": "0.0.1"}, "address": "127.0.0.9"}
    gone = {**driver, "modules": {"xgboost": None}, "address": "127.0.0.8"}
    check = nodes.versions_check({"a" * 40: {**driver, "address": "127.0.0.2"}, "b" * 40: stub}, driver)
    assert check.status == "fail", check
    assert "xgboost (imported): 0.0.1 on node bbbbbbbb (127.0.0.9); 3.2.0 on driver, node aaaaaaaa" in check.found
    missing = nodes.versions_check({"c" * 40: gone}, driver)
    assert "not importable on node cccccccc (127.0.0.8)" in missing.found
    assert "xgboost 3.2.0 on every node" in nodes.versions_check({"a" * 40: driver}, driver).found


def test_a_storage_uri_is_resolved_as_ray_train_resolves_it(tmp_path: Path) -> None:
    local = nodes.resolve_uri(f"file://{tmp_path}")
    assert local == {"ok": True, "filesystem": "LocalFileSystem", "type": "Directory"}
    unknown = nodes.resolve_uri("nosuchfs://bucket/runs")
    assert not unknown["ok"] and "Unrecognized filesystem type" in unknown["error"]
    rows = {"a" * 40: {"storage": local, "address": "127.0.0.2"}, "b" * 40: {"storage": unknown, "address": "x"}}
    check = nodes.uri_storage_check("nosuchfs://bucket/runs", rows, {"storage": local})
    assert check.status == "fail" and "on node bbbbbbbb (x): ArrowInvalid" in check.found and "s3://" in check.fix
    fine = nodes.uri_storage_check(f"file://{tmp_path}", {"a" * 40: rows["a" * 40]}, {"storage": local})
    assert fine.status == "ok" and "LocalFileSystem, path directory" in fine.found


@pytest.mark.parametrize(("line", "build"), [("cuda: Optional[str] = '12.4'", "12.4"), ("cuda = None", "")])
def test_the_torch_build_is_read_without_importing_torch(tmp_path: Path, line: str, build: str) -> None:
    stub = tmp_path / "torch"
    stub.mkdir()
    (stub / "__init__.py").write_text("raise ImportError('never imported')\n")
    (stub / "version.py").write_text(f"from typing import Optional\n__version__ = '2.13.0'\n{line}\n")
    code = "from raydt.diagnose import host; print(repr(host.torch_cuda_build()))"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert proc.stdout.strip() == repr(build), proc.stderr


def test_an_address_nobody_answers_fails_the_cluster_check_in_seconds() -> None:
    port = free_port()
    code, doc, _ = doctor("--address", f"127.0.0.1:{port}", "-q")
    check = by_name(doc)["cluster"]
    assert code == 1 and check["status"] == "fail" and f"127.0.0.1:{port}" in check["found"]
    assert "config.address" in check["fix"]


def _unshare_works(*flags: str) -> bool:
    try:
        proc = subprocess.run(["unshare", *flags, "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


@pytest.mark.skipif(not _unshare_works("--mount"), reason="needs a mount namespace (unshare --mount)")
def test_a_tiny_shm_a_full_and_a_read_only_filesystem_in_a_mount_namespace(tmp_path: Path) -> None:
    """Real filesystems, mounted only inside a private mount namespace: /dev/shm of 64 MB (a container's
    default), a 1 MB tmpfs filled to the last byte, and a read-only tmpfs (root cannot write there either)."""
    full, ro = tmp_path / "full", tmp_path / "ro"
    full.mkdir()
    ro.mkdir()
    specs = {}
    for name, storage in (("full", full / "s"), ("ro", ro / "s")):
        spec = {"mode": "serve", "config": {}, "runConfig": {"storagePath": str(storage)},
                "serveConfig": {"checkpointPath": str(tmp_path), "port": free_port()}}  # fmt: skip
        specs[name] = tmp_path / f"{name}.json"
        specs[name].write_text(json.dumps(spec))
    doctor_cmd = f"{sys.executable} -m raydt doctor -q"
    script = (
        f"mount -t tmpfs -o size=64m tmpfs /dev/shm && mount -t tmpfs -o size=1m tmpfs {full} && "
        f"(dd if=/dev/zero of={full}/fill bs=4k 2>/dev/null; true) && mount -t tmpfs -o ro,size=1m tmpfs {ro} && "
        f"cd {ROOT} && {doctor_cmd} {specs['full']} > {tmp_path}/full.out; "
        f"{doctor_cmd} {specs['ro']} > {tmp_path}/ro.out"
    )
    subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], check=False, timeout=120)
    on_full = by_name(json.loads((tmp_path / "full.out").read_text()))
    on_ro = by_name(json.loads((tmp_path / "ro.out").read_text()))
    assert on_full["shm"]["status"] == "warn" and "/dev/shm 0.1 GB" in on_full["shm"]["found"]
    assert "--shm-size" in on_full["shm"]["fix"]
    assert on_full["storage"]["status"] == "fail" and on_full["storage"]["found"].endswith("0.0 GB free")
    assert "Free disk space" in on_full["storage"]["fix"]
    assert on_ro["storage"]["status"] == "fail" and "Read-only file system" in on_ro["storage"]["found"]


_EXPOSED = """
import json, socket
from raydt.diagnose import host
listener = socket.socket()
listener.bind(("0.0.0.0", 0))  # inside a network namespace of its own: nothing outside can reach it
listener.listen()
port = listener.getsockname()[1]
print(json.dumps(host.dashboard_check(f"http://127.0.0.1:{port}", "test").to_dict()))
"""


@pytest.mark.skipif(not _unshare_works("--net"), reason="needs a network namespace (unshare --net)")
def test_a_listener_on_all_interfaces_is_found_in_an_isolated_network() -> None:
    """The dashboard's URL says 127.0.0.1, but the socket listens on 0.0.0.0: /proc/net/tcp tells, and doctor warns."""
    script = f"ip link set lo up 2>/dev/null; cd {ROOT} && {sys.executable} -c '{_EXPOSED}'"
    proc = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=60)
    check = json.loads(proc.stdout.strip().splitlines()[-1])
    assert check["status"] == "warn" and "listening on 0.0.0.0" in check["found"] and "ShadowRay" in check["fix"]
