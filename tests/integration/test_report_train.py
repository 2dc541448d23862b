"""runConfig.report on a real train run (one Ray run for the module): per-epoch curves from the train ledger the
relay writes, the kept checkpoints from Ray Train's snapshot, and the page in a real headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_seed_output
from tests.integration.report_helper import CHROMIUM, Chromium
from tests.unit.test_report import assert_png, value_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(pytorch_run: dict[str, Any]) -> dict[str, Any]:
    """The session's shared PyTorch run (tests/integration/conftest.py): 3 epochs, report on, one checkpoint kept."""
    return pytorch_run


def test_train_report_has_every_epoch_and_the_kept_checkpoint(trained: dict[str, Any]) -> None:
    assert_seed_output(trained)
    html = Path(trained["reportPath"])
    ledger = [json.loads(x) for x in (Path(trained["experimentPath"]) / "raydt_train.jsonl").read_text().splitlines()]
    assert [e["event"] for e in ledger] == ["start", "report", "report", "report", "ran"]  # ran: the wall time (plan)
    page = html.read_text(encoding="utf-8")
    assert int(value_of(page, "count-reports")) == trained["results"]["iterations"] == 3
    assert float(value_of(page, "best-metric")) == trained["results"]["bestMetric"]
    assert int(value_of(page, "best-iteration")) == trained["results"]["bestIteration"]
    kept = [p.name for p in Path(trained["experimentPath"]).glob("checkpoint_*") if p.is_dir()]
    assert int(value_of(page, "count-checkpointsKept")) == len(kept) >= 1  # the best, and Ray keeps the latest too
    assert all(f"<td>{name}</td>" in page for name in kept) and Path(trained["checkpointPath"]).name in kept
    for key in ("train-metrics", "train-timeline"):
        assert_png(html.parent / f"report-{key}.png")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)")
def test_train_page_in_chromium(trained: dict[str, Any]) -> None:
    browser = Chromium()
    try:
        loaded = browser.open(Path(trained["reportPath"]))
        points = browser.evaluate(
            "Object.fromEntries(Array.from(document.querySelectorAll('.js-plotly-plot'))"
            ".map(d => [d.id, d.querySelectorAll('svg .point').length]))"
        )
    finally:
        browser.close()
    assert loaded.errors == [] and loaded.requests == [], (loaded.errors, loaded.requests)
    kept = [p for p in Path(trained["experimentPath"]).glob("checkpoint_*") if p.is_dir()]
    # 3 epochs x 3 metrics + a star per kept checkpoint; the time line: the metric's 3 reports
    assert points == {"train-metrics": 9 + len(kept), "train-timeline": 3}, points
