"""The sampler inside a trial's or training worker's own process: a daemon thread that reads the process (and
its children) every ``interval`` seconds and keeps one small JSON record of what it used.

Why in the process: what a trial used is only known where it runs (Ray's accounting is per node and says what
was reserved, not used), and the process knows its own CPU time exactly. Cost: a few ``/proc`` reads per
sample (children looked up every ``CHILDREN_EVERY`` samples, through ``/proc/<pid>/task/*/children``, not a
walk of every process); the thread times itself (``samplerCpuSeconds`` in the record; the tests hold it under
1 % of the wall time). Linux-first: elsewhere psutil alone, and the peak is the highest sample.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

from raydt.state import write_json_atomic

FORMAT = 1  # the record's layout (``utilisation.figures`` reads it)
INTERVAL_S = 0.5
WRITE_EVERY_S = 5.0  # written at the start, then this often (a killed worker keeps its last), and at the end
CHILDREN_EVERY = 4

#: A GPU probe: called once per sample with this process tree's pids, returns (busy fraction, bytes used) or None.
GpuProbe = Callable[[list[int]], "tuple[float, int] | None"]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from each thread's ``children`` file)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as fh:
                    todo.extend(int(child) for child in fh.read().split())
        except OSError:
            continue
    return found


def reset_peak() -> bool:
    """Reset this process's peak RSS (``VmHWM``) so that the peak is this trial's, not an earlier one's in a reused
    process (Linux >= 4.0: ``clear_refs`` value 5 touches nothing else); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def kernel_peak() -> int:
    """This process's peak RSS in bytes since the last ``reset_peak`` (0 where ``/proc`` has none)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cpu(times: Any) -> float:
    return float(times.user + times.system)


class Sampler:
    """Samples this process from ``start()`` to ``stop()``; ``record`` holds what the plan says it reserved and
    who it is (owner, rank); the sampler adds what was used and writes the whole to ``path`` (None: kept here)."""

    def __init__(
        self,
        path: str | None,
        record: dict[str, Any],
        interval: float = INTERVAL_S,
        gpu: GpuProbe | None = None,
    ) -> None:
        self.path, self.record, self.interval, self.gpu = path, dict(record), interval, gpu
        self.proc = psutil.Process()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="raydt-usage-sampler", daemon=True)
        self.children: dict[int, tuple[psutil.Process, float, float]] = {}  # pid -> (process, cpu at start, last)
        self.rss = self.peak = self.samples = 0
        self.gpu_busy: list[float] = []
        self.gpu_peak = 0
        self.own_cpu = 0.0  # the sampler thread's own CPU time

    def start(self) -> Sampler:
        self.kernel_peak = reset_peak()
        self.started, self.t0 = time.time(), time.monotonic()
        self.cpu0 = _cpu(self.proc.cpu_times())
        for child in self._live_children():  # what they used before this trial is not its own
            cpu = self._child_cpu(child) or 0.0
            self.children[child.pid] = (child, cpu, cpu)
        self.sample()
        self.write(final=False)
        self.thread.start()
        return self

    def stop(self) -> dict[str, Any]:
        """Stop sampling, take a last sample and write the final record; returns it."""
        self.done.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
        try:
            self.sample(look_for_children=True)
        except Exception:  # noqa: BLE001 - the record keeps the samples taken so far
            pass
        return self.write(final=True)

    def _loop(self) -> None:
        last_write = time.monotonic()
        while not self.done.wait(self.interval):
            begin = time.thread_time()
            try:
                self.sample(look_for_children=self.samples % CHILDREN_EVERY == 0)
                if time.monotonic() - last_write >= WRITE_EVERY_S:
                    self.write(final=False)
                    last_write = time.monotonic()
            except Exception:  # noqa: BLE001, S110 - bookkeeping must never disturb the training
                pass
            self.own_cpu += time.thread_time() - begin

    def _live_children(self) -> list[psutil.Process]:
        pids = process_tree(self.proc.pid)[1:] if os.path.isdir("/proc") else [c.pid for c in self.proc.children(True)]
        found = []
        for pid in pids:
            known = self.children.get(pid)
            try:
                found.append(known[0] if known else psutil.Process(pid))
            except psutil.Error:
                continue
        return found

    @staticmethod
    def _child_cpu(child: psutil.Process) -> float | None:
        try:
            return _cpu(child.cpu_times())
        except psutil.Error:
            return None

    def sample(self, look_for_children: bool = False) -> None:
        """One sample: RSS of the process and its live children, their CPU so far, the GPU when probed."""
        rss = self.proc.memory_info().rss
        if look_for_children:
            for child in self._live_children():
                self.children.setdefault(child.pid, (child, 0.0, 0.0))  # born during the trial: all its CPU
        for pid, (child, first, _) in list(self.children.items()):
            now = self._child_cpu(child)
            if now is None:  # gone: it keeps what it was last seen using
                continue
            self.children[pid] = (child, first, now)
            try:
                rss += child.memory_info().rss
            except psutil.Error:
                pass
        self.rss, self.peak, self.samples = rss, max(self.peak, rss), self.samples + 1
        if self.gpu is not None:
            seen = self.gpu([self.proc.pid, *self.children])
            if seen is not None:
                self.gpu_busy.append(seen[0])
                self.gpu_peak = max(self.gpu_peak, seen[1])

    def snapshot(self, final: bool) -> dict[str, Any]:
        """The record as it stands: reserved (given) and used (measured) figures of this process."""
        used = _cpu(self.proc.cpu_times()) - self.cpu0 + sum(last - first for _, first, last in self.children.values())
        peak = max(self.peak, kernel_peak()) if self.kernel_peak else self.peak
        out = {
            "format": FORMAT,
            **self.record,
            "pid": self.proc.pid,
            "host": socket.gethostname(),
            "startedAt": round(self.started, 3),
            "wallSeconds": round(time.monotonic() - self.t0, 3),
            "cpuSeconds": round(max(used, 0.0), 3),
            "rssBytes": self.rss,
            "peakRssBytes": peak,
            "samples": self.samples,
            "samplerCpuSeconds": round(self.own_cpu, 4),
            "final": final,
        }
        if self.gpu_busy:
            out["gpu"] = {
                "utilisation": round(sum(self.gpu_busy) / len(self.gpu_busy), 4),
                "peakMemoryBytes": self.gpu_peak,
            }
        return out

    def write(self, final: bool) -> dict[str, Any]:
        doc = self.snapshot(final)
        if self.path is not None:
            try:
                write_json_atomic(self.path, doc, indent=None)
            except OSError:  # a full or vanished folder: the figures are lost, never the trial
                pass
        return doc
