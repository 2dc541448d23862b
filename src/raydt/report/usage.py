"""The report's "Where the resources went" panel: the run's used vs reserved figures, one row per trial (a search)
or per worker rank (a train run), and the warnings that say what to change.

The run's own ``results.utilisation`` (and each trial row's) wins when the run wrote its report; a report written
later reads the experiment's usage records (``raydt_usage/``) and sums them as the run did (``raydt.utilisation``).
"""

from __future__ import annotations

from html import escape
from typing import Any

from raydt import utilisation
from raydt.experiment import USAGE_DIR
from raydt.report.load import Experiment
from raydt.report.page import cell, number

#: (key, column title) of the figures shown, in order; a key no row has is left out
COLUMNS = (
    ("processes", "processes"),
    ("workerSeconds", "seconds"),
    ("cpusPerWorker", "CPUs / worker"),
    ("cpuSecondsUsed", "CPU-s used"),
    ("cpuSecondsReserved", "CPU-s reserved"),
    ("cpuFraction", "CPU used"),
    ("peakMemoryGb", "peak GB"),
    ("memoryGbReserved", "GB reserved"),
    ("memoryFraction", "memory used"),
    ("gpuUtilisation", "GPU busy"),
    ("peakGpuMemoryGb", "peak GPU GB"),
)


def _rows(exp: Experiment, records: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(label, figures) per trial in the report's order, or per worker rank."""
    result = exp.result or {}
    if exp.mode == "tune":
        given = {t["trialId"]: t["utilisation"] for t in result.get("trials") or [] if t.get("utilisation")}
        found = given or utilisation.by_owner(records)
        return [(t.trial_id, found[t.trial_id]) for t in exp.trials if t.trial_id in found]
    workers = ((result.get("results") or {}).get("utilisation") or {}).get("workers") or utilisation.by_rank(records)
    return [(f"rank {w['rank']}", w) for w in workers]


def panel(exp: Experiment) -> str:
    """The panel's HTML ("" when the run left no usage records)."""
    records = utilisation.read(exp.path / USAGE_DIR)
    run = ((exp.result or {}).get("results") or {}).get("utilisation") or utilisation.summary(records)
    if not run:
        return ""
    keys = [(k, title) for k, title in COLUMNS if k in run]
    items = "".join(
        f"<dt>{escape(title)}</dt><dd>{number(f'usage-{k}', run[k])}</dd>" for k, title in keys
    )  # fmt: skip
    notes = "".join(f'<p class="note usage-advice">{escape(n)}</p>' for n in utilisation.advice(records, exp.mode))
    rows = _rows(exp, records)
    head = "trial" if exp.mode == "tune" else "worker"
    header = "".join(f"<th>{escape(h)}</th>" for h in [head, *(title for _, title in keys)])
    body = "".join(
        f'<tr data-usage="{escape(label)}"><td>{escape(label)}</td>{"".join(cell(f.get(k)) for k, _ in keys)}</tr>'
        for label, f in rows
    )
    table = f'<table class="sortable" id="usage-table"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'
    return (
        "<h2>Where the resources went</h2>"
        '<p class="sub">Used against reserved, sampled inside each trial or worker process while its loop ran '
        "(CPU fraction: CPU-seconds used / CPUs reserved x seconds run; GB: 1e9 bytes).</p>"
        f'<dl class="kv" id="usage">{items}</dl>{notes}<div class="scroll">{table}</div>'
    )
