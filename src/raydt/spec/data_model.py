"""``dataConfig``'s sections (datasets read with Ray Data) and ``DataSource``, which ``predictConfig.data`` reuses;
kept apart from ``spec.model``, which re-exports them. Never imports Ray."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from raydt.spec.llm_model import TextData
from raydt.spec.strict import StrictModel


class DataSource(StrictModel):
    """One dataset read with Ray Data: files of one format, the label column, the feature columns."""

    format: Literal["csv", "parquet", "json", "numpy", "images"] = Field(
        description="Ray Data reader: read_csv | read_parquet | read_json | read_numpy | read_images."
    )
    paths: str | Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] = Field(
        description="Files, folders or globs; local paths or any filesystem Ray Data reads (s3://, gs://, ...)."
    )
    label: str | None = Field(
        None, min_length=1, description="Label column (the built-in trainers need one; validation inherits train's)."
    )
    features: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, min_length=1, description="Feature columns (default: every column but the label)."
    )


class DataConfig(StrictModel):
    """``dataConfig``: datasets read, preprocessed and sharded with Ray Data, fed to Ray Train as ``datasets=``."""

    train: DataSource
    validation: DataSource | None = None
    validation_split: float | None = Field(
        None, gt=0, lt=1, description="Without validation: the fraction of train rows held out (default 0.2)."
    )
    preprocess: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Steps applied in order, each {step: options}: standardize, minMaxScale, oneHot, fillNa, "
        "dropColumns, cast (fitted on the training split only, saved with the checkpoint), or "
        "{mapBatches: 'file.py:function', batchSize, concurrency}.",
    )
    materialize: bool = Field(
        True, description="Keep the preprocessed data in Ray's object store (false: stream from files each epoch)."
    )
    concurrency: int = Field(2, ge=1, le=10_000, description="Ray Data read and map tasks at once (conservative).")
    batch_size: int = Field(
        1024, ge=1, le=10_000_000, description="Rows per batch in Ray Data map steps and shard reads."
    )
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of validationSplit's shuffle.")
    text: TextData | None = Field(
        None,
        description="framework transformers: text rows (JSON lines or Parquet) tokenized once in Ray Data "
        "{shape, maxSeqLen, packing}; default {} for that framework.",
    )
    shuffle_strategy: Literal["sort_shuffle_pull_based", "sort_shuffle_push_based", "hash_shuffle", "shuffle_v2"] = (
        Field(
            "sort_shuffle_pull_based",
            description="Ray Data's shuffle for the fitting aggregations. raydt's default (plain tasks) fits a "
            "step in ~0.3 s on 2 CPUs where Ray's own (shuffle_v2, actors) takes ~5 s; use shuffle_v2 for big data.",
        )
    )
