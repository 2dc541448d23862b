"""How a raydt driver uses the lasting cluster: its address when it runs (``raydt run`` with no address),
and the token it must present (set in the environment around ``ray.init``). Imports no Ray."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from raydt.clusters import state

#: clusterStatus.source values
SOURCE_UP = "raydt cluster up"


def running_address() -> str | None:
    """The address of the cluster ``raydt cluster up`` started, when its head lives."""
    rec = state.running()
    return str(rec["address"]) if rec else None


def owner(address: str | None) -> dict[str, Any] | None:
    """The record of the running lasting cluster when ``address`` is its address, else None."""
    if not address:
        return None
    rec = state.running()
    return rec if rec is not None and rec.get("address") == address else None


@contextmanager
def auth_env(address: str | None) -> Iterator[dict[str, Any] | None]:
    """Around a connection to the lasting cluster: token auth on, with the cluster's token file (the
    token is never printed; only its file is named). Yields the record, or None for any other address."""
    rec = owner(address)
    if rec is None:
        yield None
        return
    wanted = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(rec["tokenFile"])}
    saved = {k: os.environ.get(k) for k in (*wanted, "RAY_AUTH_TOKEN")}
    os.environ.update(wanted)
    os.environ.pop("RAY_AUTH_TOKEN", None)
    try:
        yield rec
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
