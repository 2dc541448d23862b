"""Benchmark 11: raydt's loop for a user's own PyTorch model (``trainConfig.model``/``data``/``loss``, issue 18).

(a) The same model, data, epochs, batch size and optimizer (``user_model.py``) on 2 workers x 1 CPU, through
``raydt run`` and through a hand-written Ray Train loop (``compare/ray_train_user.py``: prepare_model,
prepare_data_loader, a report with a checkpoint on rank 0 every epoch). Training samples/s from the epochs'
own times (the model notes each epoch's start inside the worker: Ray's start-up is not in them), median of the
repetitions, alternating. Target: raydt / hand-written >= 0.95.

(b) Plain one-process PyTorch (``compare/torch_plain_user.py``, no Ray; torch's default threads, and 1 thread)
against raydt on 2 workers over growing widths, batch and rows: seconds per epoch and whole process, to show
where 2 workers pay off on this machine. ``BENCH_SIZE_REPS`` repeats (b) (default 1). ``BENCH_SRC``: a frozen
copy of ``src/`` to run raydt from (put first on every process's path), for a tree that others edit meanwhile.
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path
from typing import Any

import common
from common import HERE, PY, RAYDT, Case, alternate, last_json_line, median, ratio, raydt_json, reps, save, spec_file
from user_model import epoch_seconds, first_epoch_at

#: (a): about 2.3 s per epoch on 2 workers here
LOOP = {"rows": 80_000, "features": 64, "hidden": 256, "layers": 2, "batchSize": 64, "lr": 0.001, "epochs": 5}
#: (b): (rows, hidden, batch): widths first, then a bigger batch, then more rows
SIZES = [(20_000, 64, 128), (20_000, 256, 128), (20_000, 1024, 128), (20_000, 1024, 512), (80_000, 256, 128)]
SIZE_EPOCHS = 4
if os.environ.get("BENCH_SRC"):
    common.ENV["PYTHONPATH"] = f"{os.environ['BENCH_SRC']}:{common.ENV['PYTHONPATH']}"


def spec(loop: dict[str, Any], refs: str) -> dict[str, Any]:
    """raydt's spec for ``loop``; ``refs``: the folder of user_model.py as the spec names it."""
    rest = {k: v for k, v in loop.items() if k != "epochs"}
    return {
        "mode": "train",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {
            "framework": "pytorch",
            "model": f"{refs}/user_model.py:build_mlp",
            "data": f"{refs}/user_model.py:synthetic",
            "loss": "cross_entropy",
            "epochs": loop["epochs"],
            "trainLoopConfig": {"optimizer": "adam", **rest},
        },
        "runConfig": {"storagePath": "./raydt_results"},
    }


def timed(rows: int) -> Any:
    """Reads the epochs' times the run's training processes left in its working directory."""

    def after(workdir: Path, started: float) -> dict[str, Any]:
        seconds, first = epoch_seconds(str(workdir)), first_epoch_at(str(workdir))
        per_epoch = statistics.median(seconds) if seconds else None
        return {
            "epochS": seconds,
            "medianEpochS": per_epoch,
            "samplesPerS": rows / per_epoch if per_epoch else None,
            "firstEpochS": first - started if first else None,  # from the process's start: start-up and set-up
        }

    return after


def loop_cases() -> list[Case]:
    path = spec_file(spec(LOOP, ".."), "user_loop")
    hand = [PY, f"{HERE}/compare/ray_train_user.py", json.dumps(LOOP)]
    return [
        Case("raydt", [*RAYDT, "run", path, "--quiet"], raydt_json, timed(LOOP["rows"])),
        Case("ray-train", hand, last_json_line, timed(LOOP["rows"])),
    ]


def size_cases() -> list[Case]:
    """Per size: plain PyTorch with torch's default threads (2 here), with 1 thread, and raydt; raydt's specs go
    to benchmarks/.cache (absolute references)."""
    cache = HERE / ".cache"
    cache.mkdir(exist_ok=True)
    cases = []
    for rows, hidden, batch in SIZES:
        loop = {**LOOP, "rows": rows, "hidden": hidden, "batchSize": batch, "epochs": SIZE_EPOCHS}
        name = f"{rows // 1000}k-h{hidden}-b{batch}"
        path = cache / f"user_loop_{name}.json"
        path.write_text(json.dumps(spec(loop, str(HERE)), indent=2))
        plain = [PY, f"{HERE}/compare/torch_plain_user.py"]
        cases += [
            Case(f"plain-{name}", [*plain, json.dumps(loop)], last_json_line, timed(rows)),
            Case(f"plain1-{name}", [*plain, json.dumps({**loop, "threads": 1})], last_json_line, timed(rows)),
            Case(f"raydt-{name}", [*RAYDT, "run", str(path), "--quiet"], raydt_json, timed(rows)),
        ]
    return cases


def break_even(plain: Case, ours: Case) -> int | None:
    """Epochs after which raydt's whole run is the shorter: its extra fixed cost (whole process minus epochs)
    over what it saves per epoch; None when it saves nothing per epoch."""
    p_ep, r_ep = median(plain, "medianEpochS"), median(ours, "medianEpochS")
    p_wall, r_wall = median(plain), median(ours)
    if not (p_ep and r_ep and p_wall and r_wall) or p_ep <= r_ep:
        return None
    return max(1, round(((r_wall - SIZE_EPOCHS * r_ep) - (p_wall - SIZE_EPOCHS * p_ep)) / (p_ep - r_ep)))


def size_rows(cases: list[Case]) -> list[dict[str, Any]]:
    """Per size: seconds per epoch and whole process, plain (2 threads, 1 thread) vs raydt on 2 workers."""
    rows = []
    for plain, plain1, ours in zip(cases[::3], cases[1::3], cases[2::3], strict=True):
        name = ours.name.removeprefix("raydt-")
        r_ep, r_wall = median(ours, "medianEpochS"), median(ours)
        for case, how in ((plain, "1 process, 2 threads"), (plain1, "1 process, 1 thread")):
            p_ep, even = median(case, "medianEpochS"), break_even(case, ours)
            target = f"(reference; whole run shorter after ~{even} epochs)" if even else "(reference)"
            rows.append(
                {"what": f"s per epoch, {name} (rows k, width, batch): raydt 2 workers vs plain PyTorch {how}",
                 "raydt": r_ep, "comparison": p_ep, "ratio": ratio(r_ep, p_ep), "target": target}
            )  # fmt: skip
        p_wall = median(plain)
        rows.append(
            {"what": f"whole process, {SIZE_EPOCHS} epochs of {name}: raydt 2 workers vs plain PyTorch (2 threads)",
             "raydt": r_wall, "comparison": p_wall, "ratio": ratio(r_wall, p_wall), "target": "(reference)"}
        )  # fmt: skip
    return rows


def loop_rows(loop: list[Case]) -> list[dict[str, Any]]:
    """(a): samples/s (medians, and the median of the repetitions' own raydt/hand-written ratios: each pair ran
    back to back), whole process, and the start-up until the first epoch."""
    ours, hand = loop
    r_rate, t_rate = median(ours, "samplesPerS"), median(hand, "samplesPerS")
    pairs = [a.get("samplesPerS") and b.get("samplesPerS") and a["samplesPerS"] / b["samplesPerS"]
             for a, b in zip(ours.runs, hand.runs, strict=True)]  # fmt: skip
    paired = [p for p in pairs if p]
    r_first, t_first = median(ours, "firstEpochS"), median(hand, "firstEpochS")
    size = f"{LOOP['rows'] // 1000}k rows, width {LOOP['hidden']}, batch {LOOP['batchSize']}"
    return [
        {"what": f"user-model training samples/s ({size}), 2 workers: raydt's loop vs hand-written Ray Train loop",
         "raydt": r_rate, "comparison": t_rate, "ratio": ratio(r_rate, t_rate), "target": "ratio >= 0.95"},
        {"what": "the same, median of the repetitions' own ratios (" + ", ".join(f"{p:.3f}" for p in paired) + ")",
         "raydt": None, "comparison": None, "ratio": round(statistics.median(paired), 3) if paired else None,
         "target": "ratio >= 0.95"},
        {"what": "user model: process start to the first epoch (s), raydt vs hand-written Ray Train loop",
         "raydt": r_first, "comparison": t_first, "ratio": ratio(r_first, t_first), "target": "(recorded)"},
        {"what": f"user model, {LOOP['epochs']} epochs, whole process: raydt vs hand-written Ray Train loop",
         "raydt": median(ours), "comparison": median(hand), "ratio": ratio(median(ours), median(hand)),
         "target": "(recorded)"},
    ]  # fmt: skip


def main() -> None:
    load_before = os.getloadavg()
    loop = loop_cases()
    alternate(loop, reps(3))
    sizes = size_cases()
    alternate(sizes, int(os.environ.get("BENCH_SIZE_REPS", 1)))
    notes = f"load average (1, 5, 15 min) before {load_before}, after {os.getloadavg()}"
    title = "raydt's loop for trainConfig.model vs hand-written Ray Train and plain PyTorch"
    save("user_loop", title, loop_rows(loop) + size_rows(sizes), loop + sizes, notes=notes)


if __name__ == "__main__":
    main()
