"""What ``raydt cluster up`` starts: resources of the head and of each worker raylet, and where it listens.
Flags win over a spec's ``config.rayInit`` (num_cpus, num_gpus, resources, _memory). Imports no Ray."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any

from raydt.errors import OptionError, SpecIssue

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class NodeResources:
    cpus: float | None = None  # None: Ray detects
    gpus: float | None = None
    memory: int | None = None  # bytes of Ray's 'memory' resource
    custom: dict[str, float] = field(default_factory=dict)

    def flags(self) -> list[str]:
        out = []
        if self.cpus is not None:
            out.append(f"--num-cpus={self.cpus:g}")
        if self.gpus is not None:
            out.append(f"--num-gpus={self.gpus:g}")
        if self.memory is not None:
            out.append(f"--memory={self.memory}")
        if self.custom:
            out.append(f"--resources={json.dumps(self.custom)}")
        return out

    def describe(self) -> dict[str, Any]:
        return {"cpu": self.cpus, "gpu": self.gpus, "memoryBytes": self.memory, "customResources": self.custom}


@dataclass(frozen=True)
class UpOptions:
    head: NodeResources = field(default_factory=NodeResources)
    workers: int = 0
    worker: NodeResources = field(default_factory=lambda: NodeResources(cpus=1))
    host: str = LOOPBACK
    idle_stop_s: float | None = None  # --idle-stop: stop after this long unused (clusters.idle)
    warm: bool = True  # --no-warm: no warm runner beside the cluster (clusters.warm)

    @property
    def loopback(self) -> bool:
        return self.host in (LOOPBACK, "localhost")


def _issue(path: str, rule: str, value: Any, hint: str) -> OptionError:
    return OptionError([SpecIssue(path, rule, value, hint)])


def custom_resources(path: str, value: str | dict[str, Any] | None) -> dict[str, float]:
    """``--resources '{"name": amount}'`` (or the dict of a spec): names to non-negative numbers."""
    if value is None:
        return {}
    parsed: Any = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise _issue(path, f"is not JSON ({exc})", value, "Give a JSON object: '{\"accel\": 1}'.") from None
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
        for k, v in parsed.items()
    ):
        raise _issue(path, "must map resource names to non-negative numbers", value, "e.g. '{\"accel\": 1}'.")
    reserved = sorted(set(parsed) & {"CPU", "GPU", "memory", "object_store_memory"})
    if reserved:
        raise _issue(path, "names a built-in resource", reserved, "Use --cpus, --gpus or --memory for those.")
    return {k: float(v) for k, v in parsed.items()}


def _number(path: str, value: Any, *, integer: bool = False) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _issue(path, "must be a non-negative number", value, "e.g. 2")
    if integer and int(value) != value:
        raise _issue(path, "must be a whole number", value, "e.g. 4000000000 (bytes)")
    return int(value) if integer else float(value)


def from_spec_config(ray_init: dict[str, Any]) -> NodeResources:
    """The head's resources named by a spec's ``config.rayInit``."""
    p = "config.rayInit"
    return NodeResources(
        cpus=_number(f"{p}.num_cpus", ray_init.get("num_cpus")),
        gpus=_number(f"{p}.num_gpus", ray_init.get("num_gpus")),
        memory=_number(f"{p}._memory", ray_init.get("_memory"), integer=True),
        custom=custom_resources(f"{p}.resources", ray_init.get("resources")),
    )


def build(flags: dict[str, Any], spec_ray_init: dict[str, Any] | None = None) -> UpOptions:
    """``UpOptions`` from the command's flags (None: not given) over a spec's ``config.rayInit``."""
    base = from_spec_config(spec_ray_init or {})
    head = NodeResources(
        cpus=_number("--cpus", flags.get("cpus")) if flags.get("cpus") is not None else base.cpus,
        gpus=_number("--gpus", flags.get("gpus")) if flags.get("gpus") is not None else base.gpus,
        memory=_number("--memory", flags.get("memory"), integer=True)
        if flags.get("memory") is not None
        else base.memory,
        custom=custom_resources("--resources", flags.get("resources")) if flags.get("resources") else base.custom,
    )
    workers = flags.get("workers") or 0
    if not isinstance(workers, int) or isinstance(workers, bool) or not 0 <= workers <= 16:
        raise _issue("--workers", "must be a whole number from 0 to 16", workers, "e.g. --workers 1")
    worker = NodeResources(
        cpus=_number("--worker-cpus", flags.get("worker_cpus") if flags.get("worker_cpus") is not None else 1),
        gpus=_number("--worker-gpus", flags.get("worker_gpus")),
        custom=custom_resources("--worker-resources", flags.get("worker_resources")),
    )
    host = str(flags.get("host") or LOOPBACK)
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise _issue("--host", "is not an IP address", host, "Leave it out (127.0.0.1) or give an IP.") from None
    idle = parse_duration(flags["idle_stop"]) if flags.get("idle_stop") is not None else None
    return UpOptions(
        head=head,
        workers=workers,
        worker=worker,
        host=LOOPBACK if host == "localhost" else host,
        idle_stop_s=idle,
        warm=not flags.get("no_warm"),
    )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: Any, path: str = "--idle-stop") -> float:
    """Seconds of ``30m``, ``90s``, ``2h``, ``1d`` or a plain number of seconds (at least 1)."""
    found = _DURATION.match(str(text))
    if not found or float(found.group(1)) * _UNITS[found.group(2) or "s"] < 1:
        hint = "A duration such as 30m, 90s, 2h (a plain number: seconds), at least 1s."
        raise _issue(path, "is not a duration", text, hint)
    return float(found.group(1)) * _UNITS[found.group(2) or "s"]


def exposure_warning(options: UpOptions, ports: dict[str, int]) -> str | None:
    """The warning that names what listens beyond loopback, or None on loopback."""
    if options.loopback:
        return None
    listed = ", ".join(f"{k} {v}" for k, v in sorted(ports.items()))
    return (
        f"the cluster listens on {options.host} ({listed}), not only on 127.0.0.1: anyone who reaches these "
        "ports and holds the token can run code as you. Never expose them to a public network; firewall them."
    )
