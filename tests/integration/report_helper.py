"""Report tests' helpers: a headless Chromium driven over the DevTools protocol (through a pipe: no port, no
extra package), and a synthetic Tune experiment directory of any size (the 1,000-trial benchmark uses it too).
"""

from __future__ import annotations

import base64
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--enable-unsafe-swiftshader",  # software WebGL (Plotly's parallel coordinates draw with WebGL)
    "--remote-debugging-pipe",
    "--window-size=1400,1000",
]


@dataclass
class PageReport:
    """What a page did while it loaded: console errors, uncaught exceptions, requests beyond the file itself."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class Chromium:
    """One headless Chromium process and one page, spoken to with CDP messages over fds 3/4."""

    def __init__(self) -> None:
        assert CHROMIUM, "chromium is not installed"
        self.profile = tempfile.mkdtemp(prefix="raydt-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def fds() -> None:  # the child's fd 3 reads our messages, fd 4 writes its answers
            high_r, high_w = os.dup(to_child_r), os.dup(from_child_w)  # a pipe may already sit on 3 or 4
            os.dup2(high_r, 3)  # dup2 to another number makes the copy inheritable
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=fds,  # noqa: PLW1509 - the test process starts no threads before this
            close_fds=False,  # fds 3 and 4 must survive into the browser (our other pipe ends are non-inheritable)
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""
        try:
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable", session=True)
        except BaseException:
            self.close()
            raise

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed its pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(message))

    def call(self, method: str, *, session: bool = False, timeout: float = 30, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer (events that arrive meanwhile are kept in ``events``)."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            got = self._read(deadline)
            if got.get("id") == self._next:
                if "error" in got:
                    raise RuntimeError(f"{method}: {got['error']}")
                return dict(got.get("result", {}))
            self.events.append(got)

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            got = self._read(deadline)
            self.events.append(got)
            if got.get("method") == method:
                return got

    def open(self, path: Path) -> PageReport:
        """Load a file and report its console errors and every request other than the file itself."""
        url = path.resolve().as_uri()
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired", timeout=60)
        self.evaluate("new Promise(r => setTimeout(r, 500))")  # let the plots finish drawing
        report = PageReport()
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                report.errors.append(json.dumps(params.get("args"))[:300])
            elif method == "Runtime.exceptionThrown":
                report.errors.append(json.dumps(params.get("exceptionDetails"))[:300])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                report.errors.append(params["entry"].get("text", "")[:300])
            elif method == "Network.requestWillBeSent":
                requested = params.get("request", {}).get("url", "")
                if requested != url and not requested.startswith("data:"):
                    report.requests.append(requested)
        return report

    def evaluate(self, expression: str) -> Any:
        got = self.call("Runtime.evaluate", session=True, expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in got:
            raise RuntimeError(f"{expression[:80]}: {got['exceptionDetails']}")
        return got.get("result", {}).get("value")

    def screenshot(self) -> bytes:
        data = self.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=False)["data"]
        return base64.b64decode(data)

    def close(self) -> None:
        """End the browser by its pid (and its process group: renderer, GPU and zygote children)."""
        try:
            self.call("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - already gone or not answering: the kill below ends it
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # children left in the group, if any
        except ProcessLookupError:
            pass
        os.close(self._to_child)
        os.close(self._from_child)
        shutil.rmtree(self.profile, ignore_errors=True)


def synthesize_tune(root: Path, trials: int, iterations: int = 20, seed: int = 0) -> Path:
    """A Tune experiment directory as raydt leaves it: the stored spec, the ledger and one folder per trial with
    params.json, result.json and progress.csv (some trials stopped early, a few failed). Returns its path."""
    rng = random.Random(seed)
    exp = root / "synthetic-search"
    exp.mkdir(parents=True, exist_ok=True)
    spec = {
        "mode": "tune",
        "trainConfig": {"framework": "pytorch", "epochs": iterations},
        "tuneConfig": {
            "searchSpace": {
                "lr": {"type": "loguniform", "min": 1e-5, "max": 1e-1},
                "batchSize": {"type": "choice", "values": [16, 32, 64]},
                "hiddenSize": {"type": "randint", "min": 16, "max": 256},
                "dropout": {"type": "uniform", "min": 0.0, "max": 0.5},
            },
            "numSamples": trials,
            "metric": "val_loss",
            "mode": "min",
            "scheduler": "asha",
        },
        "runConfig": {"name": exp.name, "storagePath": str(root)},
    }
    (exp / "raydt_spec.json").write_text(json.dumps(spec, indent=2))
    ledger = []
    start = 1_800_000_000.0
    for n in range(trials):
        trial_id = f"{n:05d}abc"[:8]
        config = {
            "lr": 10 ** rng.uniform(-5, -1),
            "batchSize": rng.choice([16, 32, 64]),
            "hiddenSize": rng.randint(16, 256),
            "dropout": rng.uniform(0, 0.5),
        }
        failed = n % 97 == 13
        length = rng.choice([1, 2, 4, iterations, iterations]) if not failed else rng.randint(1, 3)
        folder = exp / f"trial_{trial_id}_{n + 1}_lr={config['lr']:.4f}_2026-12-01_00-00-00"
        folder.mkdir(exist_ok=True)
        (folder / "params.json").write_text(json.dumps(config))
        quality = abs(config["lr"] - 0.003) * 50 + config["dropout"] * 0.5 + rng.uniform(0, 0.2)
        t0 = start + n * 0.5
        rows = []
        for it in range(1, length + 1):
            loss = 2.3 * (0.7 ** (it * (1 / (1 + quality)))) + quality * 0.1
            total = it * 0.25
            rows.append(
                {"epoch": it, "train_loss": loss * 0.9, "val_loss": loss, "val_accuracy": 1 - loss / 2.5,
                 "timestamp": int(t0 + total), "checkpoint_dir_name": f"checkpoint_{it - 1:06d}", "done": False,
                 "training_iteration": it, "trial_id": trial_id, "time_this_iter_s": 0.25, "time_total_s": total,
                 "pid": 1000 + n % 2, "hostname": "node-a", "node_ip": "127.0.0.1", "config": config}
            )  # fmt: skip
        with open(folder / "result.json", "w") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
        flat = [{k: v for k, v in row.items() if k != "config"} for row in rows]
        with open(folder / "progress.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(flat[0]))
            writer.writeheader()
            writer.writerows(flat)
        if failed:
            (folder / "error.txt").write_text("Traceback (most recent call last):\nRuntimeError: synthetic failure\n")
            ledger.append({"event": "error", "trial": trial_id})
        else:
            ledger.append({"event": "complete", "trial": trial_id})
    with open(exp / "raydt_trials.jsonl", "w") as fh:
        fh.writelines(json.dumps(e) + "\n" for e in ledger)
    return exp
