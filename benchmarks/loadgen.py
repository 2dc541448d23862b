"""A small HTTP load generator for the serve benchmark: real HTTP/1.1 keep-alive connections on loopback,
bounded in time and in request count.

``steady``: open loop at a fixed rate; each request's latency counts from when it was *due*, so a server
that falls behind shows it (no coordinated omission). ``closed``: N clients, each sending its next request
as soon as the last one answered: the throughput the server sustains.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit


class Client:
    """One keep-alive connection per thread to ``url`` (POST JSON)."""

    def __init__(self, url: str, body: dict[str, Any], timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self.body = json.dumps(body).encode()
        self.timeout = timeout
        self.local = threading.local()

    def post(self) -> int:
        """Send one request; the HTTP status (0: connection error)."""
        for attempt in range(2):  # a keep-alive connection the server closed is reopened once
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                conn.request("POST", self.path, body=self.body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                return int(response.status)
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt:
                    return 0
        return 0


def summary(latencies: list[float], codes: list[int], elapsed: float) -> dict[str, Any]:
    """p50/p99/max latency (ms), throughput (requests answered 200 per second) and errors."""
    ok = [lat for lat, code in zip(latencies, codes, strict=True) if code == 200]
    qs = statistics.quantiles(ok, n=100, method="inclusive") if len(ok) >= 2 else [float("nan")] * 99
    return {
        "requests": len(codes),
        "errors": sum(1 for c in codes if c != 200),
        "seconds": round(elapsed, 2),
        "throughputRps": round(len(ok) / elapsed, 1) if elapsed else None,
        "p50Ms": round(qs[49] * 1000, 2),
        "p99Ms": round(qs[98] * 1000, 2),
        "maxMs": round(max(ok) * 1000, 2) if ok else None,
    }


def steady(client: Client, rate: float, seconds: float, max_requests: int, pool_size: int = 64) -> dict[str, Any]:
    """Open loop: one request every 1/rate s for ``seconds`` (at most ``max_requests``)."""
    count = min(max_requests, int(rate * seconds))
    latencies, codes = [0.0] * count, [0] * count
    start = time.perf_counter()

    def one(i: int, due: float) -> None:
        codes[i] = client.post()
        latencies[i] = time.perf_counter() - due

    with ThreadPoolExecutor(pool_size) as pool:
        for i in range(count):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, i, due)
    out = summary(latencies, codes, time.perf_counter() - start)
    out["targetRps"] = rate
    return out


def closed(client: Client, clients: int, seconds: float, max_requests: int) -> dict[str, Any]:
    """Closed loop: ``clients`` threads sending back to back for ``seconds`` (at most ``max_requests``)."""
    latencies: list[float] = []
    codes: list[int] = []
    lock = threading.Lock()
    start = time.perf_counter()
    end = start + seconds

    def loop() -> None:
        while time.perf_counter() < end:
            with lock:
                if len(codes) >= max_requests:
                    return
            sent = time.perf_counter()
            code = client.post()
            with lock:
                latencies.append(time.perf_counter() - sent)
                codes.append(code)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = summary(latencies, codes, time.perf_counter() - start)
    out["clients"] = clients
    return out


def describe(result: dict[str, Any]) -> str:
    """One line of a steady + closed measurement, for the benchmark's progress output."""
    s, c = result["steady"], result["closed"]
    return (
        f"steady {s['throughputRps']} rps p50 {s['p50Ms']} p99 {s['p99Ms']} ms errors {s['errors']}; "
        f"closed {c['throughputRps']} rps p50 {c['p50Ms']} p99 {c['p99Ms']} ms errors {c['errors']}"
    )
