"""``dataConfig`` for framework transformers: text rows (JSON lines or Parquet) read with Ray Data, split, and
tokenized once in the driver (``frameworks.transformers.lm.text.Tokenize`` on a one-actor pool, the tokenizer loaded
once), then materialized: every worker's shard and every trial of a search read the same token ids."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from raydt.data.pipeline import DEFAULT_SPLIT, Prepared, read
from raydt.data.steps import columns_of
from raydt.errors import DataError, SpecIssue
from raydt.spec.model import DataConfig, TextData

#: rows handed to the tokenizing actor at once
TOKENIZE_BATCH = 256


def prepare_text(dc: DataConfig, base_dirs: tuple[Path, ...], tokenizer: str, out_dir: str, view: Any) -> Prepared:
    """Read, split and tokenize ``dc``: Ray Train's ``datasets=`` ({input_ids, labels, attention_mask} rows of
    ``maxSeqLen`` tokens) and the info the loop and the result read (shape, maxSeqLen, packing, rows)."""
    import ray.data

    from raydt.frameworks.transformers.lm.text import Tokenize, detect_shape

    started = time.monotonic()
    ray.data.DataContext.get_current().enable_progress_bars = False
    text = dc.text or TextData()
    train = read(dc.train, "dataConfig.train", base_dirs, dc.concurrency)
    shape = text.shape
    if shape == "auto":
        try:
            shape = detect_shape(list(columns_of(train)))
        except ValueError as exc:
            hint = "Declare it, or rename the columns."
            raise DataError([SpecIssue("dataConfig.text.shape", str(exc), "auto", hint)]) from None
    if dc.validation is not None:
        val = read(dc.validation, "dataConfig.validation", base_dirs, dc.concurrency)
    else:
        train, val = train.materialize().train_test_split(
            test_size=dc.validation_split or DEFAULT_SPLIT, shuffle=True, seed=dc.seed
        )

    def tokenized(ds: Any, where: str) -> Any:
        out = ds.map_batches(
            Tokenize,
            fn_constructor_kwargs={
                "tokenizer_dir": tokenizer,
                "shape": shape,
                "max_seq_len": text.max_seq_len,
                "packing": text.packing,
            },
            batch_size=TOKENIZE_BATCH,
            batch_format="pandas",
            compute=ray.data.ActorPoolStrategy(size=1),
            num_cpus=0.5,
        )
        try:
            done = out.materialize()
        except Exception as exc:  # noqa: BLE001 - a row the shape cannot encode: the data's error, said with it
            lines = [ln for ln in str(exc).splitlines() if "ValueError" in ln or "row" in ln]
            raise DataError(
                [SpecIssue(where, f"cannot be tokenized as '{shape}' rows: {lines[-1] if lines else exc}", shape, "")]
            ) from None
        if done.count() == 0:
            raise DataError([SpecIssue(where, "has no rows to train on", None, "Point it at non-empty files.")])
        return done

    train, val = tokenized(train, "dataConfig.train"), tokenized(val, "dataConfig.validation")
    info: dict[str, Any] = {
        "text": {"shape": shape, "maxSeqLen": text.max_seq_len, "packing": text.packing},
        "tokenizer": tokenizer,
        "rows": {"train": train.count(), "validation": val.count()},
        "columns": ["input_ids", "labels", "attention_mask"],
        "materialized": True,
        "prepareSeconds": round(time.monotonic() - started, 2),
    }
    folder = Path(out_dir) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data_meta.json").write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
    if view is not None:
        view.event(
            f"data: {info['rows']['train']} train / {info['rows']['validation']} validation sequences of "
            f"{text.max_seq_len} tokens ('{shape}' rows), tokenized in {info['prepareSeconds']:g}s"
        )
    return Prepared({"train": train, "validation": val}, info)
