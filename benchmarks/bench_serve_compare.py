"""Serve comparison (issue 28): raydt's serve endpoint against the hand-written Ray Serve deployment of the same
model (benchmarks/compare/serve_handwritten.py, what a Ray user writes from Serve's docs), side by side in one run.

Models: ``noop`` (raydt: a predictorPath class answering 0 per instance, benchmarks/noop_predictor.py; hand-written:
a deployment that reads the JSON body and answers the same) and ``digits`` (the built-in PyTorch digits MLP, 64
features: raydt's built-in predictor; hand-written: the checkpoint loaded with PyTorch, standardize mean/std from
raydt_meta.json). Tunings: Ray Serve's defaults, and ``RAY_SERVE_THROUGHPUT_OPTIMIZED=1`` (Ray >= 2.56: direct
ingress, gRPC proxy -> replica, user code on the replica's main loop, buffered request logs, no log to stderr,
GC frozen after start-up) set for the whole serving process.

Each case: a fresh serving process (embedded Ray, 2 CPUs, 1 replica x 1 CPU, no batching), 30 warm-up requests,
a steady open-loop phase (RATE req/s for STEADY_S s: p50/p99) and a closed-loop phase (CLIENTS clients back to back
for CLOSED_S s: max req/s), one digits row per request, the same loadgen client on loopback. raydt and
hand-written alternate. Targets: raydt's p50 at most 1 ms over the hand-written one; its req/s >= 0.9x.
Environment: BENCH_REPS (default 1), SERVE_RATE (40), SERVE_CLIENTS (8), SERVE_STEADY_S (10), SERVE_CLOSED_S (8),
SERVE_TUNINGS (default,throughput; also: direct, the throughput settings with the client on the replica's
direct-ingress port, saved as results/serve_compare_direct.json), SERVE_MODELS (noop,digits).

    make bench BENCH=serve_compare     # or: cd benchmarks && ../.venv/bin/python bench_serve_compare.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_serve import launch, serve, stop, train
from common import ENV, HERE, PY, reps, save
from loadgen import Client, closed, describe, steady

RATE = float(os.environ.get("SERVE_RATE", 40))
STEADY_S = float(os.environ.get("SERVE_STEADY_S", 10))
CLOSED_S = float(os.environ.get("SERVE_CLOSED_S", 8))
CLIENTS = int(os.environ.get("SERVE_CLIENTS", 8))
TUNINGS = os.environ.get("SERVE_TUNINGS", "default,throughput").split(",")
MODELS = os.environ.get("SERVE_MODELS", "noop,digits").split(",")
TUNING_ENV = {
    "default": {},
    "throughput": {"RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"},
    "direct": {"RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"},  # the same, the client calling the replica's own port
}
#: direct ingress: the replica's own HTTP server, on the first port of Ray's range on a fresh cluster
#: (RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT); neither raydt nor serve.run prints it
DIRECT_PORT = 30000
NOOP = f"{HERE / 'noop_predictor.py'}:NoopPredictor"
cache = HERE / ".cache" / "serve-compare"


def checkpoint() -> str:
    """The digits checkpoint every case serves: trained once (1 built-in PyTorch run), cached."""
    note = cache / "checkpoint.txt"
    if note.exists() and Path(note.read_text().strip()).is_dir():
        return note.read_text().strip()
    cache.mkdir(parents=True, exist_ok=True)
    found = train(cache)
    note.write_text(found)
    return found


def start(impl: str, model: str, ckpt: str, port: int, work: Path, env: dict[str, str]) -> Any:
    if impl == "raydt":
        setting: dict[str, Any] = {"maxBatchSize": 1, **({"predictorPath": NOOP} if model == "noop" else {})}
        return serve(work, ckpt, port, setting, env)
    return launch([PY, str(HERE / "compare" / "serve_handwritten.py"), model, ckpt, str(port)], work, env)


def measure(url: str, row: list[float]) -> dict[str, Any]:
    client = Client(url, {"instances": [row]})
    for _ in range(30):  # warm the connection pool and the replica
        client.post()
    return {
        "steady": steady(client, RATE, STEADY_S, int(RATE * STEADY_S)),
        "closed": closed(client, CLIENTS, CLOSED_S, 20_000),
    }


def main() -> None:
    from sklearn.datasets import load_digits

    row = load_digits().data[7].tolist()
    ckpt = checkpoint()
    runs: dict[str, list[dict[str, Any]]] = {}
    port = 18100
    with tempfile.TemporaryDirectory(prefix="raydt-bench-serve-compare-") as tmp:
        work = Path(tmp)
        for rep in range(reps(1)):
            for tuning in TUNINGS:
                env = dict(ENV, **TUNING_ENV[tuning])
                for model in MODELS:
                    for impl in ("raydt", "hand") if rep % 2 == 0 else ("hand", "raydt"):
                        port += 1
                        proc, out = start(impl, model, ckpt, port, work, env)
                        url = out["serve"]["predict"]
                        if tuning == "direct":
                            url = url.replace(f":{port}", f":{DIRECT_PORT}")
                        try:
                            result = measure(url, row)
                        finally:
                            stop(proc)
                        runs.setdefault(f"{impl}/{model}/{tuning}", []).append(result)
                        print(f"  {impl} {model} {tuning} #{rep + 1}: {describe(result)}", file=sys.stderr)

    def med(key: str, phase: str, field: str) -> float:
        return round(statistics.median(r[phase][field] for r in runs[key]), 2)

    rows: list[dict[str, Any]] = []
    for tuning in TUNINGS:
        label = {
            "default": "Serve defaults",
            "throughput": "RAY_SERVE_THROUGHPUT_OPTIMIZED=1",
            "direct": "RAY_SERVE_THROUGHPUT_OPTIMIZED=1, client on the replica's direct-ingress port",
        }[tuning]
        for model in MODELS:
            r, h = f"raydt/{model}/{tuning}", f"hand/{model}/{tuning}"
            what = f"serve {model}, {label}: raydt vs hand-written Ray Serve"
            p50r, p50h = med(r, "steady", "p50Ms"), med(h, "steady", "p50Ms")
            rpsr, rpsh = med(r, "closed", "throughputRps"), med(h, "closed", "throughputRps")
            errors = sum(x[p]["errors"] for k in (r, h) for x in runs[k] for p in ("steady", "closed"))
            rows += [
                {
                    "what": f"{what}: p50 ms at {RATE:g} req/s (errors: {errors})",
                    "raydt": p50r,
                    "comparison": p50h,
                    "ratio": round(p50r / p50h, 3),
                    "target": f"raydt <= hand + 1 ms (diff {p50r - p50h:+.2f} ms)",
                },
                {
                    "what": f"{what}: p99 ms at {RATE:g} req/s",
                    "raydt": med(r, "steady", "p99Ms"),
                    "comparison": med(h, "steady", "p99Ms"),
                    "ratio": round(med(r, "steady", "p99Ms") / med(h, "steady", "p99Ms"), 3),
                    "target": "(recorded)",
                },
                {
                    "what": f"{what}: max req/s, {CLIENTS} clients back to back",
                    "raydt": rpsr,
                    "comparison": rpsh,
                    "ratio": round(rpsr / rpsh, 3),
                    "target": "ratio >= 0.9",
                },
            ]
    if "default" in TUNINGS and "throughput" in TUNINGS:
        for impl in ("raydt", "hand"):
            for model in MODELS:
                on = med(f"{impl}/{model}/throughput", "closed", "throughputRps")
                off = med(f"{impl}/{model}/default", "closed", "throughputRps")
                rows.append(
                    {
                        "what": f"serve {model}, {impl}: max req/s with RAY_SERVE_THROUGHPUT_OPTIMIZED=1 vs defaults",
                        "raydt": on,
                        "comparison": off,
                        "ratio": round(on / off, 3),
                        "target": "(does it help?)",
                    }
                )
    notes = (
        f"1 replica x 1 CPU, embedded Ray on 2 CPUs, no batching, one digits row per request; steady {RATE:g} req/s "
        f"for {STEADY_S:g} s, closed loop {CLIENTS} clients for {CLOSED_S:g} s; the load client shares the 2 cores."
    )
    name = "serve_compare" if TUNINGS == ["default", "throughput"] else "serve_compare_" + "_".join(TUNINGS)
    path = save(name, "raydt serve vs hand-written Ray Serve", rows, [], notes)
    doc = json.loads(path.read_text())
    doc["raw"] = runs
    path.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
