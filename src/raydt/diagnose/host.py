"""Checks of this machine that import nothing heavy (no Ray, no framework): versions read from package metadata,
the torch build read from its ``version.py``, device files, ``/dev/shm``, token settings, listening sockets."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import re
import sys
from pathlib import Path

from raydt.diagnose.checks import Check, fail, gb, ok, warn
from raydt.registry import framework_distributions

#: Ray's default object store: 30% of the node's memory; ``/dev/shm`` below that makes Ray fall back to disk
OBJECT_STORE_FRACTION = 0.3
#: the distributions whose versions matter to a run (the same on every node): Ray, then every framework's
#: (``FrameworkInfo.distributions``, plain data: nothing is imported)
PACKAGES = ("ray", *framework_distributions())


def version_of(dist: str) -> str | None:
    """The installed version of a distribution (from its metadata: nothing is imported), or None."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def meminfo() -> dict[str, int]:
    """``/proc/meminfo`` in bytes (empty where there is none)."""
    out: dict[str, int] = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                out[key] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    except OSError:
        pass
    return out


def python_check() -> Check:
    return ok("python", f"{platform.python_version()} ({sys.executable})")


def ray_pin() -> str | None:
    """The Ray version raydt is pinned to (its distribution's requirement ``ray[...]==X``), or None."""
    try:
        requires = importlib.metadata.requires("ray-distributed-trainer") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for req in requires:
        match = re.match(r"^ray(?:\[[^\]]*\])?==([\w.]+)\s*$", req)
        if match:
            return match.group(1)
    return None


def versions_check() -> list[Check]:
    """Ray (required, and the version raydt is pinned to) and each framework raydt knows (installed or not: only
    a spec makes one necessary)."""
    ray, pin = version_of("ray"), ray_pin()
    if ray is None:
        checks = [
            fail("ray", "ray is not installed", f"pip install 'ray[default,train,tune,serve]=={pin or '2.60.0'}'")
        ]
    elif pin and ray != pin:
        checks = [
            warn("ray", f"ray {ray}; raydt is tested with {pin}", f"pip install 'ray[default,train,tune,serve]=={pin}'")
        ]
    else:
        checks = [ok("ray", f"ray {ray}")]
    found = [f"{d} {v}" for d in PACKAGES[1:] if (v := version_of(d))]
    checks.append(ok("frameworks", ", ".join(found) if found else "none installed"))
    return checks


def torch_cuda_build() -> str | None:
    """torch's CUDA version ('' for a CPU build) read from ``torch/version.py`` without importing torch; None when
    torch is not installed."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        try:
            text = (Path(folder) / "version.py").read_text()
        except OSError:
            continue
        match = re.search(r"^cuda\s*(?::[^=]*)?=\s*['\"]?([^'\"\n]*)['\"]?\s*$", text, re.MULTILINE)
        if match:
            return "" if match.group(1).strip() == "None" else match.group(1).strip()
    return None


def gpu_devices() -> int:
    """NVIDIA GPUs this process can see: the device files, narrowed by CUDA_VISIBLE_DEVICES."""
    count = len([p for p in Path("/dev").glob("nvidia[0-9]*")])
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        count = min(count, len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"]))
    return count


def gpu_check() -> Check:
    """GPUs on this machine vs the torch build (a CPU wheel on a GPU machine trains on CPU, silently)."""
    devices, cuda = gpu_devices(), torch_cuda_build()
    build = "torch not installed" if cuda is None else ("torch CPU build" if cuda == "" else f"torch CUDA {cuda} build")
    found = f"{devices} NVIDIA GPU(s) visible; {build}"
    if devices and cuda == "":
        return warn(
            "gpu",
            found,
            "Install a CUDA build of torch (pip install torch --index-url "
            "https://download.pytorch.org/whl/cu124) to train on the GPUs.",
        )
    return ok("gpu", found)


def shm_check() -> Check:
    """``/dev/shm`` holds Ray's object store; in a container it is often 64 MB."""
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return warn("shm", "/dev/shm does not exist", "Ray's object store falls back to /tmp (slower).")
    size, total = st.f_blocks * st.f_frsize, meminfo().get("MemTotal", 0)
    want = OBJECT_STORE_FRACTION * total
    found = f"/dev/shm {gb(size)} of {gb(total)} memory"
    if total and size < want:
        return warn(
            "shm",
            found + f"; Ray's default object store is {gb(want)}",
            f"Give the container a larger /dev/shm (docker run --shm-size={int(want / 1e9) + 1}g; on "
            "Kubernetes an emptyDir with medium: Memory), or lower config.rayInit.object_store_memory.",
        )
    return ok("shm", found)


def token_check() -> Check:
    """Token authentication as the environment sets it for a Ray this machine starts."""
    mode = os.environ.get("RAY_AUTH_MODE")
    token_file = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    found = (
        f"RAY_AUTH_MODE={mode or '(unset)'}; token file {token_file} {'exists' if token_file.exists() else 'absent'}"
    )
    if mode and mode.lower() not in ("token",):
        return warn(
            "auth",
            found,
            "Unset RAY_AUTH_MODE (or set it to token): without a token anyone who reaches the "
            "dashboard or GCS port can run code on the cluster.",
        )
    return ok("auth", found + " (an embedded Ray turns token auth on)")


def listening_hosts(port: int) -> list[str]:
    """Local addresses something listens on at TCP ``port`` (``/proc/net/tcp`` and ``tcp6``)."""
    hosts = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) < 4 or fields[3] != "0A":  # 0A: LISTEN
                continue
            addr, _, hex_port = fields[1].partition(":")
            if int(hex_port, 16) == port and len(addr) == width:
                hosts.append(_address(addr))
    return hosts


def _address(hex_addr: str) -> str:
    if len(hex_addr) == 8:
        return ".".join(str(b) for b in reversed(bytes.fromhex(hex_addr)))
    raw = b"".join(bytes.fromhex(hex_addr[i : i + 8])[::-1] for i in range(0, 32, 8))
    import ipaddress

    return str(ipaddress.IPv6Address(raw))


LOOPBACK = ("127.", "::1", "localhost")


def exposed(host: str) -> bool:
    """An address reachable from other machines (0.0.0.0, ::, or an interface address)."""
    return not host.startswith(LOOPBACK) and host not in ("::ffff:127.0.0.1",)


def dashboard_check(url: str, source: str, name: str = "dashboard") -> Check:
    """The dashboard accepts jobs (arbitrary code): bound beyond loopback, it is the ShadowRay exposure."""
    from urllib.parse import urlparse

    parsed = urlparse(url if "://" in url else f"http://{url}")
    port = parsed.port or 8265
    local = (parsed.hostname or "").startswith(LOOPBACK) or parsed.hostname in ("0.0.0.0", "::")
    bound = listening_hosts(port) if local else []  # the sockets of this machine say how it is really bound
    hosts = sorted(set(bound)) or [parsed.hostname or "?"]
    found = f"{source} dashboard {url}, listening on {', '.join(hosts)}"
    if any(exposed(h) for h in hosts) or (parsed.hostname and exposed(parsed.hostname)):
        return warn(
            name,
            found,
            "Bind the dashboard to 127.0.0.1 (ray start --dashboard-host 127.0.0.1; "
            "raydt cluster up does by default) and reach it by an SSH tunnel; if it must be exposed, keep "
            "token authentication on and firewall the port (ShadowRay, CVE-2023-48022).",
        )
    return ok(name, found)


def cluster_record_checks() -> list[Check]:
    """The lasting local cluster (``raydt cluster up``): when it runs, its dashboard's binding; when its record
    names a head that died, a failure (``raydt run`` with no address refuses it: ``detect.refuse_dead``)."""
    from raydt.clusters import detect, state
    from raydt.errors import RayConnectionError

    try:
        detect.refuse_dead()
    except RayConnectionError as err:
        return [fail("lasting cluster", err.message, err.hint)]
    rec = state.running()
    if rec is None:
        return []
    address = rec.get("address")
    found = f"the `raydt cluster up` cluster runs at {address} (`raydt doctor --address {address}` checks its nodes)"
    runs = ok("lasting cluster", found)
    return [runs, dashboard_check(str(rec.get("dashboardUrl")), "the `raydt cluster up` cluster's")]


def host_checks() -> list[Check]:
    """Everything doctor checks without a spec or a cluster (imports neither Ray nor a framework)."""
    return [python_check(), *versions_check(), gpu_check(), shm_check(), token_check(), *cluster_record_checks()]
