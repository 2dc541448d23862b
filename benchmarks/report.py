"""Write BENCHMARKS.md's results table from benchmarks/results/*.json (run by `make bench` last)."""

from __future__ import annotations

import json
import re

from common import RESULTS, ROOT

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def table() -> str:
    lines = [
        "| what | raydt | comparison | ratio | target | machine | date |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in sorted(RESULTS.glob("*.json")):
        doc = json.loads(path.read_text())
        for row in doc["rows"]:
            extra = f" (peak RSS {row['peakRssMiB']:g} MiB)" if row.get("peakRssMiB") else ""
            lines.append(
                f"| {row['what']}{extra} | {fmt(row['raydt'])} | {fmt(row['comparison'])} | {fmt(row['ratio'])} "
                f"| {row.get('target', '')} | {doc['machine']}, Ray {doc['rayVersion']} | {doc['date']} |"
            )
    return "\n".join(lines)


def main() -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text()
    new = f"{BEGIN}\n{table()}\n{END}"
    text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: new, text, flags=re.S)
    path.write_text(text)
    print(f"updated {path}")


if __name__ == "__main__":
    main()
