"""Benchmark 5: command latency. `raydt validate` and `raydt schema` wall time and peak memory (they must
not import Ray), against a bare `python -c pass` start. Target: under 0.5 s.
"""

from __future__ import annotations

from common import PY, RAYDT, ROOT, Case, alternate, median, reps, save

seed = str(ROOT / "examples/seed-tune.json")
cases = [
    Case("validate", [*RAYDT, "validate", seed]),
    Case("schema-input", [*RAYDT, "schema", "input"]),
    Case("schema-output", [*RAYDT, "schema", "output"]),
    Case("python-start", [PY, "-c", "pass"]),
]
alternate(cases, reps(10), timeout=60)
base = median(cases[3])
rows = []
for case in cases[:3]:
    rows.append(
        {
            "what": f"raydt {case.name.replace('-', ' ')} (wall s; bare Python start as comparison)",
            "raydt": median(case),
            "comparison": base,
            "ratio": None,
            "target": "raydt < 0.5 s",
            "peakRssMiB": median(case, "peakRssMiB"),
        }
    )
save("cli_latency", "validate/schema latency and peak RSS", rows, cases)
