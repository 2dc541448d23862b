"""The route table of a multi-model endpoint: model name -> the Ray Serve application that answers for it now.

A small async Ray actor owned by the serving process. The router replicas follow it by long poll (an answer as
soon as the table changes, else every few seconds) and acknowledge each version they apply, so that an update
deletes the old generation only once no router sends to it any more. Imports Ray lazily (in the actor only).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

#: the namespace of the table actor (Serve's replicas look it up there by name)
NAMESPACE = "raydt"
#: a router replica that has not polled for this long is gone (its polls return at least every FOLLOW_S)
LIVE_S = 15.0
FOLLOW_S = 5.0


def actor_name(port: int) -> str:
    return f"raydt-routes-{port}"


class RouteTable:
    """Versioned routes ({name: {"app": ..., "listing": ...}}) and which version each router replica applies."""

    def __init__(self) -> None:
        self.version = 0
        self.routes: dict[str, Any] = {}
        self.seen: dict[str, tuple[int, float]] = {}  # router replica -> (version applied, when it said so)
        self.changed = asyncio.Event()

    async def publish(self, routes: dict[str, Any]) -> int:
        self.version += 1
        self.routes = routes
        self.changed.set()
        self.changed = asyncio.Event()
        return self.version

    async def follow(self, replica: str, applied: int, wait_s: float = FOLLOW_S) -> tuple[int, dict[str, Any]]:
        """A router replica's poll: it applies ``applied``; answered at once when the table is newer, else when it
        changes or after ``wait_s``."""
        self.seen[replica] = (applied, time.monotonic())
        if applied == self.version:
            try:
                await asyncio.wait_for(self.changed.wait(), wait_s)
            except TimeoutError:
                pass
        return self.version, self.routes

    def applied_everywhere(self, version: int) -> bool:
        """Every live router replica applies ``version`` (or a newer one), and at least one lives."""
        now = time.monotonic()
        live = [v for v, at in self.seen.values() if now - at < LIVE_S]
        return bool(live) and all(v >= version for v in live)
