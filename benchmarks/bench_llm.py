"""Benchmark: LoRA fine-tuning tokens/s (issue 29). `raydt run` (mode train, framework transformers) against the
hand-written Ray Train + Transformers script (compare/ray_train_llm.py) with the same model, data, batch,
precision and per-epoch checkpoint (the adapter), alternating, both whole processes (target: raydt >= 0.95x).

The model is a Llama built from a config with tests/llm_fixture.py's `tiny_pretrained` (hidden 256, 4 layers, 4
heads, a byte-level BPE tokenizer trained on the text), the data LLM_ROWS generated sentences (JSON lines, `text`
rows) plus 64 validation rows; both cached under benchmarks/.cache/. LoRA r 16 on every linear layer, bf16, batch 8,
maxSeqLen 128, LLM_EPOCHS epochs, 2 workers x 1 CPU. Two figures: the whole process's wall time, and the in-loop
tokens/s of the last epoch (input tokens of every worker / the epoch's training time; raydt's
`finalMetrics.tokens_per_second`, the script's printed figure counted the same way).
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path
from typing import Any

from common import HERE, PY, RAYDT, ROOT, Case, alternate, last_json_line, median, ratio, reps, save, spec_file

sys.path.insert(0, str(ROOT))
from tests.llm_fixture import tiny_pretrained  # noqa: E402

ROWS = int(os.environ.get("LLM_ROWS", 1200))
EPOCHS = int(os.environ.get("LLM_EPOCHS", 2))
BATCH, SEQ, R, VAL_ROWS = 8, 128, 16, 64
cache = HERE / ".cache"
cache.mkdir(exist_ok=True)

WORDS = {
    "who": "the old sailor|a young baker|the quiet teacher|my neighbour|the tall engineer|a tired doctor|the farmer",
    "did": "painted|repaired|carried|described|forgot|measured|sold|found|opened|cleaned|borrowed|built",
    "what": "a wooden boat|the red door|an old map|the broken clock|a heavy box|the garden fence|a small lamp",
    "where": "near the harbour|in the village|behind the mill|under the bridge|at the market|on the hill",
    "when": "before sunrise|after the storm|on a cold morning|during the festival|late at night|last summer",
}


def sentences(n: int, seed: int) -> list[str]:
    """n rows of 2-5 generated sentences each (about 30-100 tokens)."""
    rng = random.Random(seed)
    parts = {k: v.split("|") for k, v in WORDS.items()}

    def one() -> str:
        return " ".join(rng.choice(parts[k]) for k in ("who", "did", "what", "where", "when")).capitalize() + "."

    return [" ".join(one() for _ in range(rng.randint(2, 5))) for _ in range(n)]


train, val = cache / f"llm-train-{ROWS}.jsonl", cache / "llm-val.jsonl"
if not train.exists():
    train.write_text("".join(json.dumps({"text": t}) + "\n" for t in sentences(ROWS, 1)))
if not val.exists():
    val.write_text("".join(json.dumps({"text": t}) + "\n" for t in sentences(VAL_ROWS, 2)))
model_dir = cache / "llm-base-256x4"
if not (model_dir / "config.json").exists():
    tiny_pretrained(model_dir, sentences(2000, 3), hidden=256, layers=4, heads=4)

spec = {
    "mode": "train",
    "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}, "rayInit": {"num_cpus": 2}},
    "trainConfig": {
        "framework": "transformers",
        "model": {"pretrained": str(model_dir)},
        "lora": {"r": R, "alpha": 2 * R, "dropout": 0.05, "targetModules": "all-linear"},
        "trainLoopConfig": {"lr": 2e-4, "batchSize": BATCH, "epochs": EPOCHS, "precision": "bf16"},
    },
    "dataConfig": {
        "train": {"format": "json", "paths": str(train)},
        "validation": {"format": "json", "paths": str(val)},
        "text": {"shape": "text", "maxSeqLen": SEQ},
    },
    "runConfig": {"storagePath": "./runs", "name": "llm"},  # relative: each repetition runs in its own folder
}
path = spec_file(spec, "llm")


def raydt_tokens(stdout: str) -> dict[str, object]:
    out = json.loads(stdout)
    final = out["results"].get("finalMetrics") or {}
    return {
        "status": out["status"],
        "epoch": final.get("epoch"),
        "val_loss": final.get("val_loss"),
        "tokens_per_second": final.get("tokens_per_second"),
        "trainingTimeS": out.get("trainingTime"),
    }


def epochs(workdir: Path, started_at: float) -> dict[str, Any]:
    """Both runs checkpoint every epoch: Ray Train's checkpoint_manager_snapshot.json holds each epoch's metrics;
    the checkpoint folders' times split the process: its start to the first epoch's checkpoint (Ray, data,
    worker group, model, epoch 1), and the last checkpoint to the process's end (read after it ended)."""
    snapshot = next(workdir.glob("*/*/checkpoint_manager_snapshot.json"))
    results = json.loads(snapshot.read_text())["checkpoint_results"]
    times = sorted(p.stat().st_mtime for p in snapshot.parent.glob("checkpoint_*") if p.is_dir())
    return {
        "epochTokensPerSecond": [round(r["metrics"]["tokens_per_second"], 1) for r in results],
        "toFirstCheckpointS": round(times[0] - started_at, 2),
        "lastCheckpointS": round(times[-1] - started_at, 2),
    }


hand = [PY, f"{HERE}/compare/ray_train_llm.py", str(model_dir), str(train), str(val)]
cases = [
    Case("raydt", [*RAYDT, "run", path, "-q"], raydt_tokens, epochs),
    Case("ray-train", [*hand, str(EPOCHS), str(BATCH), str(SEQ), str(R)], last_json_line, epochs),
]
alternate(cases, reps(2), timeout=600)
r, h = median(cases[0]), median(cases[1])
rt, ht = median(cases[0], "tokens_per_second"), median(cases[1], "tokens_per_second")
what = f"{ROWS} rows x {EPOCHS} epochs"
save(
    "llm" if (ROWS, EPOCHS) == (1200, 2) else f"llm_{ROWS}_{EPOCHS}",
    f"LoRA fine-tune (Llama 256x4, r {R} all-linear, bf16, batch {BATCH}, maxSeqLen {SEQ}, 2 workers x 1 CPU, {what})",
    [
        {
            "what": "raydt LoRA fine-tune in-loop tokens/s (last epoch) vs hand-written Ray Train + Transformers, "
            + what,
            "raydt": rt,
            "comparison": ht,
            "ratio": ratio(rt, ht),
            "target": "ratio >= 0.95",
        },
        {
            "what": f"raydt LoRA fine-tune whole process s vs hand-written, {what}",
            "raydt": r,
            "comparison": h,
            "ratio": ratio(r, h),
            "target": "ratio <= 1.05 (0.95x the speed)",
        },
    ],
    cases,
)
