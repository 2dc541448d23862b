"""Benchmark: `raydt report` on a synthetic 1,000-trial search (20 iterations each, some stopped early, some
failed), as a real process: wall time, peak RSS and the HTML's size. Targets: seconds, low megabytes.
The experiment directory is written by the report tests' own helper (tests/integration/report_helper.py).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import RAYDT, ROOT, Case, alternate, median, reps, save

sys.path.insert(0, str(ROOT))
from tests.integration.report_helper import synthesize_tune  # noqa: E402

root = Path(tempfile.mkdtemp(prefix="raydt-bench-report-"))
exp = synthesize_tune(root, trials=1000, iterations=20)


def sized(stdout: str) -> dict[str, Any]:
    doc = json.loads(stdout)
    return {"htmlMB": round(Path(doc["reportPath"]).stat().st_size / 1e6, 2), "figures": len(doc["reportFigures"])}


cases = [Case("report-1000", [*RAYDT, "report", str(exp), "--out", "{work}/report.html"], parse=sized)]
alternate(cases, reps(3), timeout=300)
rows = [
    {
        "what": "raydt report, 1,000 trials x 20 iterations: whole process (wall s)",
        "raydt": median(cases[0]),
        "comparison": None,
        "ratio": None,
        "target": "seconds",
        "peakRssMiB": median(cases[0], "peakRssMiB"),
    },
    {
        "what": "raydt report, 1,000 trials: HTML size (MB; plotly.js inlined is 4.8 of them)",
        "raydt": median(cases[0], "htmlMB"),
        "comparison": None,
        "ratio": None,
        "target": "low MB",
    },
]
save("report", "raydt report on 1,000 trials", rows, cases)
shutil.rmtree(root, ignore_errors=True)
