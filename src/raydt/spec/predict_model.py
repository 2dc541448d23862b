"""``predictConfig`` (mode predict): batch inference of a dataset with a trained model on Ray Data. Kept apart
from ``spec.model``, which re-exports it; its cross-field rules are ``spec.predict_checks``. Never imports Ray."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from raydt.spec.data_model import DataSource
from raydt.spec.strict import StrictModel

#: The columns a predict run writes beside the kept input columns (``keepColumns`` may name neither).
PREDICTION_COLUMN = "prediction"
PROBABILITIES_COLUMN = "probabilities"
OUTPUT_FORMATS = ("parquet", "csv", "json")


class PredictOutput(StrictModel):
    """``predictConfig.output``: where and how the predictions are written."""

    path: str = Field(
        min_length=1,
        description="The folder the predictions are written to (relative: to the current directory; or a URI "
        "such as s3://). Written in a staging folder beside it and moved into place at the end: nothing "
        "half-written is left. An existing path is refused unless predictConfig.overwrite is true.",
    )
    format: Literal["parquet", "csv", "json"] = Field(
        "parquet", description="The files' format: parquet (default), csv or json (JSON lines)."
    )


class Generation(StrictModel):
    """``predictConfig.generation``: how a language model's checkpoint (framework transformers) completes each row."""

    max_new_tokens: int = Field(64, ge=1, le=4096, description="The longest completion, in tokens.")
    temperature: float = Field(0.0, ge=0, le=100, description="0: greedy decoding; above 0: sampling.")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling's probability mass (with temperature > 0).")
    stop: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="A completion is cut at the first of these strings."
    )


class PredictConfig(StrictModel):
    """``predictConfig``: predict every row of a dataset with a trained model (mode predict)."""

    experiment_path: str | None = Field(
        None,
        min_length=1,
        description="A raydt experiment directory (a result's experimentPath): its best checkpoint predicts, "
        "chosen as mode serve chooses it. Exactly one of experimentPath and checkpointPath.",
    )
    checkpoint_path: str | None = Field(
        None,
        min_length=1,
        description="The checkpoint directory that predicts (a result's checkpointPath), or an MLflow "
        "registered model (models:/NAME@ALIAS). Exactly one of experimentPath and checkpointPath.",
    )
    predictor_path: str | None = Field(
        None,
        min_length=1,
        description="'file.py:Class' or 'module:Class': Class(checkpoint_dir).predict(instances) -> one "
        "prediction per instance, as serveConfig.predictorPath. Default: the built-in trainers' predictor.",
    )
    data: DataSource = Field(
        description="The rows to predict, read with Ray Data as a dataConfig source: format, paths, and "
        "features (the model's input columns, in order; default: every column not in keepColumns). No label: a "
        "predict run has none."
    )
    keep_columns: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="Input columns copied next to each prediction (an id, say), in this order, before the "
        "'prediction' column; not fed to the model unless data.features names them. Default: none.",
    )
    output: PredictOutput = Field(description="Where the predictions go: {path, format}.")
    batch_size: int = Field(256, ge=1, le=10_000_000, description="Rows per batch handed to the model.")
    concurrency: int | None = Field(
        None, ge=1, le=10_000, description="Predicting actors (Ray Data's actor pool). Default: config.numWorkers."
    )
    on_bad_rows: Literal["fail", "skip"] = Field(
        "fail",
        description="A row the model cannot predict (a missing or non-numeric feature, say): fail (default) ends "
        "the run with an error naming it; skip leaves it out of the output and counts it (results.badRows).",
    )
    probabilities: bool = Field(
        False, description="Classifiers: also write each row's class probabilities (a 'probabilities' column)."
    )
    overwrite: bool = Field(False, description="Replace an existing output.path (default: an existing one is refused).")
    generation: Generation = Field(
        default_factory=lambda: Generation(),
        description="A language model's checkpoint (framework transformers): each row's prompt (a messages, "
        "instruction, prompt or text column, or the one column data.features names) completed into the "
        "'prediction' column: {maxNewTokens, temperature, topP, stop}.",
    )
