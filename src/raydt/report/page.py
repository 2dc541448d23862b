"""The one HTML file: Plotly's JavaScript, the styles and the table sorter inlined, so it opens offline.

Numbers the tests (and a reader's scripts) check carry their exact value in ``data-value``; the text shows
it to 6 significant digits.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from raydt.report.figures import Figure
from raydt.report.load import Experiment, Trial, finite
from raydt.report.summary import Outcome

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1280px;color:#222;
 padding:0 16px}
h1{font-size:1.5em;margin-bottom:4px} h2{font-size:1.15em;margin-top:32px;border-bottom:1px solid #ddd}
.sub{color:#666;margin-top:0} .status{font-weight:600;padding:2px 8px;border-radius:4px;background:#eee}
.status.success,.status.finished{background:#d7f0d2} .status.error{background:#f8d2d2}
.status.partial,.status.interrupted{background:#fbe7c6}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:4px 16px} dl.kv dt{color:#666} dl.kv dd{margin:0}
.figure{border:1px solid #eee;border-radius:6px;margin:12px 0;padding:4px} .note{color:#a55}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}
th{cursor:pointer;background:#f6f6f6;position:sticky;top:0} th:hover{background:#e8e8e8}
td.num{text-align:right;font-variant-numeric:tabular-nums} .scroll{max-height:600px;overflow:auto}
tr.ERROR td{color:#b22} tr.INTERRUPTED td{color:#a60} pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:12px}
"""

SORTER = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.from(body.rows), up = th.dataset.order !== 'asc';
      function key(r) { var c = r.cells[col], v = c.dataset.value;
        return v !== undefined && v !== '' && !isNaN(+v) ? +v : c.textContent; }
      rows.sort(function (a, b) { var x = key(a), y = key(b);
        var d = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return up ? d : -d; });
      table.querySelectorAll('th').forEach(function (h) { delete h.dataset.order; });
      th.dataset.order = up ? 'asc' : 'desc';
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def number(id_: str, value: Any) -> str:
    """A number with its exact value in data-value (empty when there is none)."""
    shown = fmt(value) if value is not None else "—"
    exact = repr(value) if finite(value) else ""
    return f'<span id="{id_}" data-value="{exact}">{escape(shown)}</span>'


def render(
    exp: Experiment, outcome: Outcome, figures: list[Figure], notes: list[str], env: dict[str, str], usage: str = ""
) -> str:
    """The page; ``usage``: the "Where the resources went" panel (``report.usage``), put after the outcome."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    config = {"displaylogo": False, "responsive": True}
    divs = [
        pio.to_html(f.figure, full_html=False, include_plotlyjs=False, div_id=f.key, config=config) for f in figures
    ]
    plots = "".join(f'<div class="figure">{div}</div>' for div in divs)
    parts = [
        f"<h1>raydt report: {escape(exp.name)}</h1>",
        f'<p class="sub">{escape(exp.mode)} run · {escape(str(exp.path))}</p>',
        _outcome(exp, outcome),
        usage,
        "<h2>Figures</h2>",
        plots,
        "".join(f'<p class="note">{escape(n)}</p>' for n in notes),
        _trials(exp) if exp.mode == "tune" else _checkpoints(exp),
        "<h2>Spec (as stored with the experiment)</h2>",
        f'<pre id="spec">{escape(json.dumps(exp.spec, indent=2))}</pre>',
        "<h2>Environment</h2>",
        _kv("environment", env),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>raydt report: {escape(exp.name)}</title><style>{CSS}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>{''.join(parts)}<script>{SORTER}</script></body></html>"
    )


def _kv(id_: str, rows: dict[str, Any]) -> str:
    items = "".join(
        f"<dt>{escape(str(k))}</dt><dd>{v if isinstance(v, Raw) else escape(fmt(v))}</dd>" for k, v in rows.items()
    )
    return f'<dl class="kv" id="{id_}">{items}</dl>'


class Raw(str):
    """HTML that ``_kv`` puts in as it is."""


def _outcome(exp: Experiment, out: Outcome) -> str:
    rows: dict[str, Any] = {
        "status": Raw(f'<span id="status" class="status {escape(out.status)}">{escape(out.status)}</span>'),
    }
    if out.end_reason:
        rows["ended because"] = out.end_reason
    if out.error:
        rows["error"] = Raw(f'<span id="error">{escape(out.error)}</span>')
    rows[f"best {exp.metric} ({exp.metric_mode})"] = Raw(number("best-metric", out.best_metric))
    if out.best_trial:
        rows["best trial"] = Raw(f'<span id="best-trial">{escape(out.best_trial)}</span>')
    if out.best_iteration:
        rows["best report (epoch)"] = Raw(number("best-iteration", out.best_iteration))
    if out.best_config is not None:
        rows["best config"] = Raw(f'<code id="best-config">{escape(json.dumps(out.best_config))}</code>')
    for key, value in out.counts.items():
        rows[key] = Raw(number(f"count-{key}", value))
    rows["wall time (s)"] = Raw(number("wall-time", out.wall_s))
    for key, value in out.resources.items():
        rows[key] = json.dumps(value) if isinstance(value, dict) else value
    return "<h2>Outcome</h2>" + _kv("outcome", rows)


def cell(value: Any) -> str:
    """A table cell; a number carries its exact value in data-value (the sorter and the tests read it)."""
    if finite(value):
        return f'<td class="num" data-value="{value!r}">{escape(fmt(value))}</td>'
    return f"<td>{escape('' if value is None else fmt(value))}</td>"


def _trials(exp: Experiment) -> str:
    keys = sorted({k for t in exp.trials for k in t.config})
    head = ["#", "trial", "status", "stopped early", "iterations", f"best {exp.metric}", f"last {exp.metric}", "error"]
    header = "".join(f"<th>{escape(h)}</th>" for h in [*head, *keys])
    body = "".join(_trial_row(exp, t, keys) for t in exp.trials)
    table = f'<table class="sortable" id="trial-table"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'
    return f'<h2>Trials ({len(exp.trials)}; click a column to sort)</h2><div class="scroll">{table}</div>'


def _trial_row(exp: Experiment, t: Trial, keys: list[str]) -> str:
    values = t.values(exp.metric)
    best = (min(values) if exp.metric_mode == "min" else max(values)) if values else None
    error = f"{t.error_code}: {t.error}" if t.error_code else ""
    cells = [t.number, t.trial_id, t.status, "yes" if t.stopped_early else "", len(t.reports), best,
             values[-1] if values else None, error, *(t.config.get(k) for k in keys)]  # fmt: skip
    return f'<tr class="{t.status}" data-trial="{escape(t.trial_id)}">{"".join(cell(c) for c in cells)}</tr>'


def _checkpoints(exp: Experiment) -> str:
    from raydt.report.load import size_of

    rows = "".join(
        f"<tr><td>{escape(c['name'])}</td>{cell(c['metrics'].get(exp.metric))}"
        f"<td>{escape(json.dumps(c['metrics']))}</td>{cell(round(size_of(exp.path / c['name']) / 1e6, 3))}</tr>"
        for c in exp.checkpoints
    )
    header = f"<tr><th>checkpoint</th><th>{escape(exp.metric)}</th><th>metrics</th><th>MB</th></tr>"
    table = f'<table class="sortable" id="checkpoint-table"><thead>{header}</thead><tbody>{rows}</tbody></table>'
    return f"<h2>Checkpoints kept ({len(exp.checkpoints)})</h2>{table}"
