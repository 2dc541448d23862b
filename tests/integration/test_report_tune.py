"""runConfig.report on a real search (one Ray run for the module, through the CLI), and the report as a person
sees it: opened in a real headless Chromium, every figure drawn, nothing fetched, its numbers the result's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_seed_output, run_cli
from tests.integration.report_helper import CHROMIUM, Chromium
from tests.unit.test_report import TUNE_FIGURES, assert_png, value_of

pytestmark = pytest.mark.slow

TRAINABLE = '''
from ray import tune


def objective(config):
    """A bowl around lr = 0.1 over 6 reports; lr >= 0.9 fails after one (it runs first: ASHA cannot stop it)."""
    for step in range(1, 7):
        if config["lr"] >= 0.9 and step == 2:
            raise RuntimeError(f"diverged at lr={config['lr']}")
        tune.report({"score": (config["lr"] - 0.1) ** 2 * config["width"] + 1.0 / step, "step": step})
'''


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("report-tune")
    (root / "trainable.py").write_text(TRAINABLE)
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"trainerPath": f"{root}/trainable.py:objective"},
        "tuneConfig": {
            "searchSpace": {
                "lr": {"type": "grid", "values": [0.95, 0.1, 0.3, 0.6]},
                "width": {"type": "choice", "values": [1, 2]},
            },
            "metric": "score",
            "mode": "min",
            "seed": 1,
            "scheduler": "asha",
            "maxConcurrentTrials": 1,
            "schedulerConfig": {"maxT": 6, "gracePeriod": 1, "reductionFactor": 2},
        },
        "runConfig": {"storagePath": str(root / "store"), "name": "searched", "report": True},
    }
    (root / "spec.json").write_text(json.dumps(spec))
    res = run_cli("run", str(root / "spec.json"), timeout=240)
    assert res.code == 3, res.out  # partial: one trial failed
    return res.out


def test_the_run_writes_its_report_and_says_where(search: dict[str, Any]) -> None:
    assert_seed_output(search)
    html = Path(search["reportPath"])
    assert html == Path(search["experimentPath"]) / "report" / "report.html" and html.is_file()
    for key in TUNE_FIGURES:
        assert_png(html.parent / f"report-{key}.png")
    r = search["results"]
    assert (r["numTrials"], r["failedTrials"]) == (4, 1) and any(t.get("stoppedEarly") for t in search["trials"])


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)")
def test_the_page_in_chromium(search: dict[str, Any]) -> None:
    from io import BytesIO

    from PIL import Image

    browser = Chromium()
    try:
        loaded = browser.open(Path(search["reportPath"]))
        drawn = browser.evaluate(
            "Object.fromEntries(Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => [d.id, "
            "[d.querySelectorAll('svg .trace, svg .point, svg path.js-line, svg .bars path').length, "
            "d.querySelectorAll('canvas').length, d.querySelectorAll('svg *').length]]))"
        )
        page = browser.evaluate("document.documentElement.outerHTML")
        statuses = browser.evaluate(
            "Object.fromEntries(Array.from(document.querySelectorAll('#trial-table tbody tr'))"
            ".map(r => [r.dataset.trial, [r.cells[2].textContent, r.cells[7].textContent]]))"
        )
        browser.evaluate("document.querySelectorAll('#trial-table th')[5].click()")  # sort by the best value
        column = browser.evaluate(
            "Array.from(document.querySelectorAll('#trial-table tbody tr')).map(r => r.cells[5].dataset.value)"
        )
        shot = Image.open(BytesIO(browser.screenshot())).convert("RGB")
    finally:
        browser.close()
    assert loaded.errors == [] and loaded.requests == [], (loaded.errors, loaded.requests)
    assert sorted(drawn) == sorted(TUNE_FIGURES), drawn
    assert all(traces > 0 for key, (traces, _, _) in drawn.items() if key != "parallel-coordinates"), drawn
    assert drawn["parallel-coordinates"][1:] > [0, 20]  # its lines on canvases (WebGL), its axes in SVG
    colours = shot.getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 50, "the screenshot is blank"
    r = search["results"]
    assert float(value_of(page, "best-metric")) == r["bestMetric"]
    assert re.search(rf'id="best-trial">{r["bestTrialId"]}<', page)
    assert int(value_of(page, "count-trials")) == r["numTrials"]
    assert int(value_of(page, "count-completed")) == r["completedTrials"]
    assert int(value_of(page, "count-failed")) == r["failedTrials"]
    assert float(value_of(page, "wall-time")) == search["trainingTime"]
    for trial in search["trials"]:
        status, error = statuses[trial["trialId"]]
        assert status == trial["status"]
        assert (error.split(":")[0] if error else None) == (trial.get("error") or {}).get("code")
    values = [float(v) for v in column if v]
    assert values == sorted(values) and len(values) >= 3


def test_raydt_report_reads_the_same_numbers_from_the_directory(search: dict[str, Any], tmp_path: Path) -> None:
    res = run_cli("report", search["experimentPath"], "--out", str(tmp_path / "again.html"))
    assert res.code == 0, res.out
    page = Path(res.out["reportPath"]).read_text(encoding="utf-8")
    r = search["results"]
    assert float(value_of(page, "best-metric")) == r["bestMetric"]
    assert int(value_of(page, "count-failed")) == r["failedTrials"]
    assert int(value_of(page, "count-stoppedEarly")) == sum(bool(t.get("stoppedEarly")) for t in search["trials"])
    assert "USER_CODE_ERROR" in page
