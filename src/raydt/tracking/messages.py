"""The text of ``runConfig.notify``'s messages: a title and a short plain body, the same for every Apprise service.

    ended(doc, name)      'finished' (status success or partial) or 'failed' (status error), from a result document
    new_best(best, name)  'newBest': the metric's best so far, the trial (tune) and its config

Pure Python, no Apprise: unit-tested on result documents.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

FINISHED, FAILED, NEW_BEST = "finished", "failed", "newBest"
EVENTS = (FINISHED, FAILED, NEW_BEST)
#: Apprise's notify types (its icons and colours): by event, and by the status of a finished run
KIND_OF = {"success": "success", "partial": "warning", "error": "failure", NEW_BEST: "info"}
#: The longest text one field of a body shows (a config or an error message is clipped there)
CLIP = 600


@dataclass(frozen=True)
class Message:
    event: str
    title: str
    body: str
    kind: str  # Apprise's notify type: info, success, warning, failure


@dataclass(frozen=True)
class Best:
    """A new best value of the run's metric, as the live view saw it."""

    metric: str
    mode: str  # min | max
    value: float
    metrics: dict[str, Any] = field(default_factory=dict)
    trial: str | None = None  # tune: the trial id; train: None
    config: dict[str, Any] | None = None  # tune: the trial's config
    elapsed_s: float | None = None


def run_name(doc: dict[str, Any], fallback: str) -> str:
    """The experiment's name: the folder of the result's experimentPath, else ``fallback``."""
    path = doc.get("experimentPath")
    return os.path.basename(str(path).rstrip("/")) if path else fallback


def ended(doc: dict[str, Any], name: str, mode: str | None = None) -> Message:
    """'finished' or 'failed' of a result document (``status`` says which); ``mode``: the spec's (an error's
    document may not say)."""
    status = str(doc.get("status"))
    mode = str(doc.get("mode") or mode or "run")
    if status == "error":
        return _failed(doc, name, mode)
    res = doc.get("results") or {}
    lines = [f"status: {status} ({mode}{_counts(res) if mode == 'tune' else ''})"]
    if isinstance(res.get("bestMetric"), int | float) and res.get("metric"):
        lines.append(f"best {res['metric']} ({res.get('metricMode', 'min')}): {fmt(res['bestMetric'])}")
    if res.get("bestConfig"):
        lines.append(f"config: {clip(json.dumps(res['bestConfig'], default=str))}")
    lines += _paths(doc)
    if isinstance(doc.get("trainingTime"), int | float):
        lines.append(f"time: {fmt(doc['trainingTime'])} s")
    if doc.get("warnings"):
        lines.append(f"warnings: {len(doc['warnings'])} (see the result)")
    title = f"raydt: {name} finished" + ("" if status == "success" else f" ({status})")
    return Message(FINISHED, title, "\n".join(lines), KIND_OF.get(status, "warning"))


def _failed(doc: dict[str, Any], name: str, mode: str) -> Message:
    error = doc.get("error") or {}
    code = str(error.get("code") or "INTERNAL")
    lines = [f"status: error ({mode})", f"error: {code}: {clip(str(error.get('message', '')))}"]
    if error.get("hint"):
        lines.append(f"hint: {clip(str(error['hint']))}")
    lines += _paths(doc)
    return Message(FAILED, f"raydt: {name} failed ({code})", "\n".join(lines), KIND_OF["error"])


def new_best(best: Best, name: str) -> Message:
    """'newBest': the value, where it came from, and the config that reached it."""
    where = f" (trial {best.trial})" if best.trial else ""
    lines = [f"best {best.metric} ({best.mode}): {fmt(best.value)}{where}"]
    others = {k: v for k, v in best.metrics.items() if k != best.metric and _number(v)}
    if others:
        lines.append("metrics: " + clip(", ".join(f"{k}={fmt(v)}" for k, v in others.items())))
    if best.config:
        lines.append(f"config: {clip(json.dumps(best.config, default=str))}")
    if best.elapsed_s is not None:
        lines.append(f"elapsed: {best.elapsed_s:.0f} s")
    title = f"raydt: {name} new best {best.metric}={fmt(best.value)}"
    return Message(NEW_BEST, title, "\n".join(lines), KIND_OF[NEW_BEST])


def _counts(res: dict[str, Any]) -> str:
    trials, done = res.get("numTrials"), res.get("completedTrials")
    if not trials:
        return ""
    failed = res.get("failedTrials")
    return f", {done}/{trials} trials completed" + (f", {failed} failed" if failed else "")


def _paths(doc: dict[str, Any]) -> list[str]:
    shown = (("checkpoint", "checkpointPath"), ("report", "reportPath"), ("experiment", "experimentPath"))
    lines = [f"{label}: {doc[key]}" for label, key in shown if doc.get(key)]
    output = doc.get("output")
    if isinstance(output, dict) and output.get("path"):
        lines.append(f"predictions: {output['path']}")
    return lines


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def fmt(value: Any) -> str:
    """A number in 4 significant digits (an int as it is)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def clip(text: str, limit: int = CLIP) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
