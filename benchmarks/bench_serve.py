"""Serve load test: the built-in digits MLP behind `raydt run` (mode serve, 1 replica x 1 CPU), hit by a real
HTTP client on loopback (loadgen.py), with Ray Serve's request batching on (maxBatchSize 16) and off.

Per repetition and setting: a fresh serve process; then a steady open-loop phase (RATE req/s for
STEADY_S s, one digits row per request: it must hold the rate with no errors) and a closed-loop phase
(CLIENTS clients back to back for CLOSED_S s: the throughput it sustains). Both bounded in time and count.
Environment: BENCH_REPS, SERVE_RATE, SERVE_CLIENTS.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from common import ENV, RAYDT, ROOT, reps, save
from loadgen import Client, closed, describe, steady

RATE = float(os.environ.get("SERVE_RATE", 40))
STEADY_S, CLOSED_S = 20.0, 15.0
CLIENTS = int(os.environ.get("SERVE_CLIENTS", 8))
SETTINGS = {"batching": {"maxBatchSize": 16, "batchWaitTimeoutS": 0.005}, "no-batching": {"maxBatchSize": 1}}


def train(work: Path) -> str:
    """One short built-in PyTorch run: the checkpoint every setting serves."""
    spec = {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {"framework": "pytorch", "epochs": 2},
        "runConfig": {"storagePath": str(work), "name": "served"},
    }
    (work / "train.json").write_text(json.dumps(spec))
    done = subprocess.run([*RAYDT, "run", str(work / "train.json"), "-q"], capture_output=True, text=True, env=ENV)
    out = json.loads(done.stdout)
    assert out["status"] == "success", out
    return str(out["checkpointPath"])


def serve(
    work: Path, checkpoint: str, port: int, setting: dict[str, Any], env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], dict]:
    spec = {
        "mode": "serve",
        "config": {"rayInit": {"num_cpus": 2}},
        "serveConfig": {"checkpointPath": checkpoint, "port": port, "resourcesPerReplica": {"cpu": 1}, **setting},
        "runConfig": {"storagePath": str(work)},
    }
    path = work / f"serve-{port}.json"
    path.write_text(json.dumps(spec))
    return launch([*RAYDT, "run", str(path), "-q"], work, env)


def launch(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], dict]:
    """Start a serving process; return it and the JSON it prints once its endpoint answers."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env or ENV, cwd=cwd)
    box: dict[str, Any] = {}

    def read() -> None:
        text = ""
        assert proc.stdout is not None
        for line in proc.stdout:
            text += line
            try:
                box["out"] = json.loads(text)
                return
            except ValueError:
                continue

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(300)
    if "out" not in box:
        proc.kill()
        raise RuntimeError("the serve run printed no JSON")
    return proc, box["out"]


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> None:
    from sklearn.datasets import load_digits

    row = load_digits().data[7].tolist()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory(prefix="raydt-bench-serve-") as tmp:
        work = Path(tmp)
        checkpoint = train(work)
        port = 18000
        for rep in range(reps(3)):
            for name, setting in SETTINGS.items():
                port += 1
                proc, out = serve(work, checkpoint, port, setting)
                try:
                    client = Client(out["serve"]["predict"], {"instances": [row]})
                    for _ in range(20):  # warm the connection pool and the replica
                        client.post()
                    result = {
                        "steady": steady(client, RATE, STEADY_S, int(RATE * STEADY_S)),
                        "closed": closed(client, CLIENTS, CLOSED_S, 20_000),
                    }
                finally:
                    stop(proc)
                runs[name].append(result)
                print(f"  {name} #{rep + 1}: {describe(result)}", file=sys.stderr)

    def med(name: str, phase: str, key: str) -> float:
        return round(statistics.median(r[phase][key] for r in runs[name]), 2)

    def row_for(what: str, phase: str, key: str, target: str = "") -> dict[str, Any]:
        on, off = med("batching", phase, key), med("no-batching", phase, key)
        return {
            "what": what,
            "raydt": on,
            "comparison": off,
            "ratio": round(on / off, 3) if off else None,
            "target": target,
        }

    errors = sum(r[p]["errors"] for rs in runs.values() for r in rs for p in ("steady", "closed"))
    rows = [
        row_for(
            f"serve steady {RATE:g} req/s: achieved req/s (batching on vs off)",
            "steady",
            "throughputRps",
            f"holds {RATE:g} req/s, 0 errors (errors: {errors})",
        ),
        row_for(f"serve steady {RATE:g} req/s: p50 latency ms (batching on vs off)", "steady", "p50Ms"),
        row_for(f"serve steady {RATE:g} req/s: p99 latency ms (batching on vs off)", "steady", "p99Ms"),
        row_for(f"serve {CLIENTS} clients back to back: req/s (batching on vs off)", "closed", "throughputRps"),
        row_for(f"serve {CLIENTS} clients back to back: p50 latency ms (batching on vs off)", "closed", "p50Ms"),
        row_for(f"serve {CLIENTS} clients back to back: p99 latency ms (batching on vs off)", "closed", "p99Ms"),
    ]
    notes = (
        f"1 replica x 1 CPU, one digits row per request; load client in the same 2-core machine "
        f"(threads, keep-alive). Batching on: maxBatchSize 16, batchWaitTimeoutS 0.005. Root: {ROOT.name}."
    )
    path = save("serve", "Ray Serve load test", rows, [], notes)
    doc = json.loads(path.read_text())
    doc["raw"] = runs
    path.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
