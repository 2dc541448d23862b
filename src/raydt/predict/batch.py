"""The actor Ray Data runs for ``mode: predict``: one predictor per actor (the serve replica's loader), a pandas
batch in, the ``prediction`` column (and ``probabilities``, the kept columns) out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: The first bad rows a failing run names (onBadRows: fail).
SHOWN_BAD_ROWS = 3
PREDICTION, PROBABILITIES = "prediction", "probabilities"


class BadRowsError(ValueError):
    """Rows the model cannot score, with ``onBadRows: fail``: the message names the first few."""


@dataclass(frozen=True)
class ScoreOptions:
    """What every actor needs: the checkpoint and predictor, the columns in and out, and the bad-row rule."""

    checkpoint: str
    predictor_path: str | None
    input_columns: list[str] | None  # None: the predictor's own columns (raw columns of a dataConfig pipeline)
    keep_columns: list[str] = field(default_factory=list)
    probabilities: bool = False
    skip_bad_rows: bool = False
    probabilities_as_text: bool = False  # CSV holds no lists: the probabilities as JSON text ("[0.2, 0.8]")
    counter: Any = None  # a Ray actor handle (runners.predict.Counter): rows done and bad, for the live view
    generation: dict[str, Any] = field(default_factory=dict)  # a language model's decoding settings


class Scorer:
    """``map_batches``' callable class: ``__init__`` loads the model once per actor, ``__call__`` scores a batch."""

    def __init__(self, options: ScoreOptions) -> None:
        from raydt.serving.loading import make_predictor

        self.opts = options
        self.predictor = make_predictor({"checkpoint": options.checkpoint, "predictorPath": options.predictor_path})
        self.raw = list(getattr(self.predictor, "raw_columns", []) or [])
        self.use_records = bool(self.raw) and getattr(self.predictor, "pipeline", None) is not None

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        from raydt.serving.predictors import GenerationPredictor

        bad: list[tuple[int, str]] = []
        if isinstance(self.predictor, GenerationPredictor):
            good, out, bad = self.generate(batch)
        elif (fast := self.vectorized(batch)) is not None:
            good, out = list(range(len(batch))), fast
        else:
            good, out, bad = self.score(self.instances(batch))
        if bad and not self.opts.skip_bad_rows:
            raise BadRowsError(describe_bad(batch, bad))
        if self.opts.counter is not None:
            self.opts.counter.add.remote(len(good), len(bad))
        result = batch.iloc[good][self.opts.keep_columns].reset_index(drop=True)
        result[PREDICTION] = out["predictions"]
        if self.opts.probabilities and "probabilities" in out:
            probs = [list(p) for p in out["probabilities"]]
            result[PROBABILITIES] = [json.dumps(p) for p in probs] if self.opts.probabilities_as_text else probs
        return result

    def generate(self, batch: pd.DataFrame) -> tuple[list[int], dict[str, Any], list[tuple[int, str]]]:
        """A language model: each row's prompt completed (in one generate call for the batch's good rows)."""
        generator = self.predictor.generator
        good, rows, bad = [], [], []
        for i, record in enumerate(batch.to_dict("records")):
            try:
                rows.append(generation_row(record, self.opts.input_columns, generator))
                good.append(i)
            except ValueError as exc:
                bad.append((i, str(exc)))
        completions = generator.generate(rows, **self.opts.generation) if rows else []
        return good, {"predictions": completions}, bad

    def vectorized(self, batch: pd.DataFrame) -> dict[str, Any] | None:
        """A built-in model's batch as one array, with no per-row conversion: the saved preprocessing on the
        batch's columns (or its numbers as they are), then the model. None when anything in it does not fit:
        the batch then goes through the serve endpoint's row checks, which find the bad rows."""
        from raydt.serving.predictors import BuiltinPredictor

        p = self.predictor
        if not isinstance(p, BuiltinPredictor) or (self.opts.input_columns and p.pipeline is not None):
            return None
        try:
            if p.pipeline is not None:
                x = np.asarray(p.pipeline.features(batch.reindex(columns=p.raw_columns)), dtype=np.float32)
            else:
                names = self.opts.input_columns or [c for c in batch.columns if c not in self.opts.keep_columns]
                x = batch[names].to_numpy(dtype=np.float32)
        except Exception:  # noqa: BLE001 - a value the transform cannot take: the row checks say which
            return None
        if x.ndim != 2 or (p.pipeline is None and x.shape[1] != p.input_size) or not np.isfinite(x).all():
            return None
        probs = p.probabilities(x)
        out: dict[str, Any] = {"predictions": p.labels(probs)}
        if self.opts.probabilities:
            out["probabilities"] = np.round(probs, 6).tolist()
        return out

    def instances(self, batch: pd.DataFrame) -> list[Any]:
        """The batch as the serve endpoint's ``instances``: objects keyed by column for a checkpoint with a
        dataConfig pipeline (it picks its raw columns), else each row's input columns as a list (an array column,
        as Ray Data reads NumPy files and images, becomes the nested list a model of that shape takes)."""
        columns = self.opts.input_columns
        if self.use_records:
            names = [c for c in (columns or self.raw) if c in batch.columns]
            return [_plain_record(r) for r in batch[names].to_dict("records")]
        names = columns or [c for c in batch.columns if c not in self.opts.keep_columns]
        if len(names) == 1 and len(batch) and isinstance(batch[names[0]].iloc[0], np.ndarray):
            return [np.asarray(v).tolist() for v in batch[names[0]]]
        return list(batch[names].astype(object).where(batch[names].notna(), None).values.tolist())

    def score(self, instances: list[Any]) -> tuple[list[int], dict[str, Any], list[tuple[int, str]]]:
        """(positions scored, the predictor's output for them, (position, why) of each bad row). The batch is
        scored at once; only when the predictor refuses it are its rows tried one by one."""
        from raydt.serving.predictors import PredictorError

        try:
            return list(range(len(instances))), self._predict(instances), []
        except PredictorError:
            pass
        good: list[int] = []
        bad: list[tuple[int, str]] = []
        for i, row in enumerate(instances):
            try:
                self._predict([row])
                good.append(i)
            except PredictorError as exc:
                bad.append((i, str(exc).replace("instances[0]", "the row")))
        return good, (self._predict([instances[i] for i in good]) if good else {"predictions": []}), bad

    def _predict(self, instances: list[Any]) -> dict[str, Any]:
        rows = self.predictor.rows(instances)
        out: dict[str, Any] = self.predictor.predict(rows, self.opts.probabilities)
        return out


def describe_bad(batch: pd.DataFrame, bad: list[tuple[int, str]]) -> str:
    """The first bad rows, each by its values (the kept columns name it: an id), and why."""
    lines = []
    for position, why in bad[:SHOWN_BAD_ROWS]:
        values = {k: _plain(v) for k, v in batch.iloc[position].items()}
        lines.append(f"{values} ({why})")
    more = f" (and {len(bad) - SHOWN_BAD_ROWS} more in this batch)" if len(bad) > SHOWN_BAD_ROWS else ""
    return f"{len(bad)} row(s) cannot be scored{more}: " + "; ".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if hasattr(value, "item") and np.ndim(value) == 0 else value


def _plain_record(record: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in record.items()}


#: the columns a language model's prompt is read from, in this order (predictConfig.data.features: one column)
PROMPT_COLUMNS = ("messages", "instruction", "prompt", "text")


def generation_row(record: dict[str, Any], columns: list[str] | None, generator: Any) -> dict[str, Any]:
    """A data row as the generator's prompt row: {messages}, {instruction, input}, or a plain prompt rendered as the
    model was trained (its instruction or chat template); ValueError names what the row lacks."""
    if columns:
        value = record.get(columns[0])
        if not isinstance(value, str) or not value:
            raise ValueError(f"column {columns[0]} must hold the prompt text (got {value!r})")
        return dict(generator.rows([value])[0])
    if "messages" in record:
        messages = record["messages"]
        messages = list(messages) if isinstance(messages, list | tuple | np.ndarray) else messages
        if not isinstance(messages, list) or not all(isinstance(m, dict) and "content" in m for m in messages):
            raise ValueError('"messages" must be a list of {"role", "content"} objects')
        return {"messages": [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]}
    if "instruction" in record:
        given = record.get("input")
        return {"instruction": str(record["instruction"]), "input": "" if _missing(given) else str(given)}
    for name in ("prompt", "text"):
        if isinstance(record.get(name), str) and record[name]:
            return dict(generator.rows([record[name]])[0])
    raise ValueError(f"has none of the prompt columns {', '.join(PROMPT_COLUMNS)}")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))
