"""The books a finished train or tune run keeps: ``results.cost`` (``config.costPerHour`` at the measured wall time)
and a ``ran`` event in its ledger (the wall time and shape ``raydt plan`` reads back as history). Ray-free."""

from __future__ import annotations

import os
from typing import Any

from raydt.experiment.ledger import LEDGER_FILE, RAN_EVENT, TRAIN_LEDGER, append
from raydt.plan import TrainPlan
from raydt.plan.cost import cost


def record_run(p: TrainPlan, out: dict[str, Any], reserved: dict[str, float], nodes: int, seconds: float) -> None:
    """Add ``results.cost`` to ``out`` (with prices) and the ``ran`` event to the experiment's ledger. ``seconds``:
    the run's wall time from connecting to Ray to its result; ``reserved``: what it held at once."""
    if p.prices is not None and isinstance(out.get("results"), dict):
        out["results"]["cost"] = cost(p.prices, nodes, reserved, seconds, spent=True)
    trials = (out.get("results") or {}).get("numTrials") or 1
    at_once = out.get("maxConcurrentTrials") or 1
    event = {"event": RAN_EVENT, "wallTimeS": round(seconds, 3), "numTrials": trials, "trialsAtOnce": at_once}
    name = LEDGER_FILE if p.mode == "tune" else TRAIN_LEDGER
    if os.path.isdir(p.experiment_path):  # a URI storage path: nothing to append to here
        append(p.experiment_path, event, name)
