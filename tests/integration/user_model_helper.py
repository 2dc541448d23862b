"""What the user-model tests (plain PyTorch and Lightning) read back from a run: per-rank reads and the ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def reads(seen: Path) -> dict[int, list[list[int]]]:
    """Rows each rank read, per process, oldest process first (the test datasets write ``rank<r>-<pid>.txt``)."""
    out: dict[int, list[list[int]]] = {}
    for f in sorted(seen.glob("rank*.txt"), key=lambda f: f.stat().st_mtime):
        rank = int(f.name.split("-")[0].removeprefix("rank"))
        out.setdefault(rank, []).append([int(v) for v in f.read_text().split()])
    return out


def ledger(experiment: str) -> list[dict[str, Any]]:
    """The events of a train run's ledger (``raydt_train.jsonl``)."""
    lines = (Path(experiment) / "raydt_train.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]
