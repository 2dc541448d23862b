"""Checkpoint -> predictions. Raw feature rows in (as in the source data); the preprocessing saved with
the checkpoint (``raydt_meta.json``) is applied; class labels out, probabilities when asked.

A user predictor (``serveConfig.predictorPath``: ``file.py:Class`` or ``module:Class``) is a class built
with the checkpoint directory whose ``predict(instances)`` returns one prediction per instance; an optional
``predict_proba(instances)`` and ``metadata()`` are used when present.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from raydt.errors import SpecError, SpecIssue
from raydt.frameworks.checkpoint_format import META_FILE, read_meta


class PredictorError(ValueError):
    """The request's instances do not fit the model (wrong shape or type): an HTTP 400."""


class BuiltinPredictor:
    """The predictor of raydt's built-in trainers: the framework's own loader (``frameworks/<name>/predictor.py``)
    behind one interface."""

    def __init__(self, checkpoint_dir: str) -> None:
        meta = read_meta(checkpoint_dir)
        if meta is None:
            raise FileNotFoundError(
                f"{checkpoint_dir} has no {META_FILE}: not a checkpoint of a raydt built-in trainer "
                "(give serveConfig.predictorPath for your own model)"
            )
        self.meta: dict[str, Any] = meta
        self.checkpoint_dir = checkpoint_dir
        self.framework = str(self.meta["framework"])
        self.input_size = int(self.meta.get("inputSize") or self.meta["numFeatures"])
        self.num_classes = int(self.meta["numClasses"])
        data = self.meta.get("data") or {}
        self.classes: list[Any] = list(data.get("classes") or range(self.num_classes))
        self.pipeline: Any = None  # dataConfig's fitted transform: raw rows (lists or column dicts) -> features
        self.raw_columns: list[str] = list(data.get("rawColumns") or [])
        pipeline_file = self.meta.get("preprocessing", {}).get("pipeline")
        if pipeline_file:
            from raydt.data.pipeline import Pipeline

            self.pipeline = Pipeline.load(os.path.join(checkpoint_dir, pipeline_file))
        scale = self.meta.get("preprocessing", {}).get("standardize")
        self.mean = np.asarray(scale["mean"], dtype=np.float32) if scale else None
        self.std = np.asarray(scale["std"], dtype=np.float32) if scale else None
        self._model = load_model(checkpoint_dir, self.meta)

    def metadata(self) -> dict[str, Any]:
        return {
            "model": self.meta.get("model"),
            "framework": self.framework,
            "checkpoint": self.checkpoint_dir,
            "inputShape": [None, len(self.raw_columns) if self.pipeline is not None else self.input_size],
            "numClasses": self.num_classes,
            "classes": self.classes,
            **(
                {"columns": self.raw_columns, "unusedColumns": self.pipeline.unused()}
                if self.pipeline is not None
                else {}
            ),
            "preprocessing": sorted(self.meta.get("preprocessing", {})),
            "trainedWith": self.meta.get("config", {}),
        }

    def rows(self, instances: Any) -> np.ndarray:
        """Check and convert a request's instances: a list of rows of ``input_size`` numbers (with
        dataConfig: rows as in the source data, lists in column order or objects keyed by column)."""
        if not isinstance(instances, list) or not instances:
            raise PredictorError("'instances' must be a non-empty list of feature rows")
        if self.pipeline is not None:
            return self._raw_rows(instances)
        for i, row in enumerate(instances):
            if not isinstance(row, list) or len(row) != self.input_size:
                got = f"{len(row)} values" if isinstance(row, list) else type(row).__name__
                raise PredictorError(f"instances[{i}] must be a list of {self.input_size} numbers (got {got})")
            for j, value in enumerate(row):
                if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
                    raise PredictorError(f"instances[{i}][{j}] must be a finite number (got {value!r})")
        return np.asarray(instances, dtype=np.float32)

    def _raw_rows(self, instances: list[Any]) -> np.ndarray:
        import pandas as pd

        cols = self.raw_columns
        optional = set(self.pipeline.unused())
        records = []
        for i, row in enumerate(instances):
            if isinstance(row, dict):
                row = {c: None for c in optional} | row  # columns the pipeline drops may be left out
                missing = [c for c in cols if c not in row]
                if missing:
                    raise PredictorError(f"instances[{i}] lacks column(s) {', '.join(missing)}")
                records.append([row[c] for c in cols])
            elif isinstance(row, list) and len(row) == len(cols):
                records.append(row)
            else:
                got = f"{len(row)} values" if isinstance(row, list) else type(row).__name__
                raise PredictorError(
                    f"instances[{i}] must be a list of {len(cols)} values ({', '.join(cols)}) or an object "
                    f"keyed by those columns (got {got})"
                )
            for j, value in enumerate(records[-1]):
                if not (value is None or isinstance(value, str | int | float)) or isinstance(value, bool):
                    raise PredictorError(f"instances[{i}] column {cols[j]}: must be a number, string or null")
        frame = pd.DataFrame(records, columns=cols)
        try:
            x: np.ndarray = self.pipeline.features(frame)
        except Exception as exc:  # noqa: BLE001 - the rows do not fit the saved transform: the client's fault
            raise PredictorError(f"the instances do not fit the saved preprocessing: {exc}") from exc
        if not np.isfinite(x).all():
            bad = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
            raise PredictorError(f"instances[{bad}] has missing or non-numeric values after preprocessing")
        return x

    def labels(self, p: np.ndarray) -> list[Any]:
        """Class probabilities -> labels as in the training data."""
        return [self.classes[i] for i in p.argmax(axis=1).astype(int).tolist()]

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Class probabilities of raw rows (preprocessing applied here)."""
        x = rows if self.mean is None or self.std is None else (rows - self.mean) / self.std
        return np.asarray(self._model(x.astype(np.float32)), dtype=np.float64)

    def predict(self, rows: np.ndarray, probabilities: bool = False) -> dict[str, Any]:
        p = self.probabilities(rows)
        out: dict[str, Any] = {"predictions": self.labels(p)}
        if probabilities:
            out["probabilities"] = np.round(p, 6).tolist()
        return out


def load_model(checkpoint_dir: str, meta: dict[str, Any]) -> Any:
    """The checkpoint's model, loaded by its framework's adapter: preprocessed rows -> class probabilities."""
    from raydt import frameworks
    from raydt.registry import FRAMEWORKS

    info = FRAMEWORKS.get(str(meta["framework"]))
    if info is None:
        raise ValueError(
            f"{checkpoint_dir}/{META_FILE} names framework '{meta['framework']}', which this version of raydt "
            f"does not know (known: {', '.join(FRAMEWORKS)})"
        )
    return frameworks.adapter(info).load_model(checkpoint_dir, meta)


class UserPredictor:
    """A user's predictor class (``serveConfig.predictorPath``) behind the same interface."""

    def __init__(self, ref: str, checkpoint_dir: str, framework: str | None) -> None:
        cls = load_user_class(ref)
        self.impl = cls(checkpoint_dir)
        self.ref, self.checkpoint_dir = ref, checkpoint_dir
        self.framework = framework or _trained_by(checkpoint_dir)

    def metadata(self) -> dict[str, Any]:
        base: dict[str, Any] = {"model": self.ref, "framework": self.framework, "checkpoint": self.checkpoint_dir}
        extra = getattr(self.impl, "metadata", None)
        return {**base, **(extra() if callable(extra) else {})}

    def rows(self, instances: Any) -> Any:
        if not isinstance(instances, list) or not instances:
            raise PredictorError("'instances' must be a non-empty list")
        return instances

    def predict(self, rows: Any, probabilities: bool = False) -> dict[str, Any]:
        try:
            predictions = list(self.impl.predict(rows))
            out: dict[str, Any] = {"predictions": _plain(predictions)}
            proba = getattr(self.impl, "predict_proba", None)
            if probabilities and callable(proba):
                out["probabilities"] = _plain(list(proba(rows)))
        except (ValueError, TypeError) as exc:  # the user's code rejecting the input: the client's fault
            raise PredictorError(f"the predictor rejected the instances: {exc}") from exc
        if len(predictions) != len(rows):
            raise RuntimeError(f"{self.ref} returned {len(predictions)} predictions for {len(rows)} instances")
        return out


def _trained_by(checkpoint_dir: str) -> str | None:
    """The framework that wrote a raydt checkpoint (its ``raydt_meta.json``); None for a checkpoint of the user's."""
    try:
        meta = read_meta(checkpoint_dir)
    except (OSError, ValueError):
        return None
    framework = meta.get("framework") if isinstance(meta, dict) else None
    return str(framework) if framework else None


def _plain(values: list[Any]) -> list[Any]:
    """numpy scalars and arrays -> JSON-ready Python values."""
    return [v.tolist() if hasattr(v, "tolist") else v for v in values]


def load_user_class(ref_text: str) -> Any:
    """Import the class named by ``predictorPath``; its import errors are the user's."""
    from raydt import trainer_ref

    ref = trainer_ref.parse(ref_text)
    if isinstance(ref, SpecIssue):
        raise SpecError([SpecIssue("serveConfig.predictorPath", ref.rule, ref_text, ref.hint)])
    return trainer_ref.load(ref)


class GenerationPredictor:
    """A language model's checkpoint (framework transformers) behind ``POST /generate``: the request checked here
    (a 400 names the field), the text generated by the framework's ``Generator``."""

    def __init__(self, checkpoint_dir: str, meta: dict[str, Any]) -> None:
        self.generator = load_model(checkpoint_dir, meta)
        self.checkpoint_dir = checkpoint_dir

    def metadata(self) -> dict[str, Any]:
        return dict(self.generator.metadata())

    def generate(self, payload: Any) -> dict[str, Any]:
        """{"prompt": str | [str], or "messages": [{role, content}], maxNewTokens, temperature, topP, stop} ->
        {"completions": [...]} (one per prompt)."""
        from raydt.frameworks.transformers.predictor import MAX_NEW_TOKENS

        if not isinstance(payload, dict) or ("prompt" in payload) == ("messages" in payload):
            raise PredictorError('body must be a JSON object with one of "prompt" (text or a list) and "messages"')
        if "messages" in payload:
            messages = payload["messages"]
            if not isinstance(messages, list) or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                for m in messages
            ):
                raise PredictorError('"messages" must be a list of {"role": str, "content": str}')
            rows = [{"messages": messages}]
        else:
            given = payload["prompt"]
            prompts = [given] if isinstance(given, str) else given
            if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
                raise PredictorError('"prompt" must be a string or a non-empty list of strings')
            rows = self.generator.rows(prompts)
        options = {
            "max_new_tokens": _number(payload, "maxNewTokens", 64, 1, MAX_NEW_TOKENS, integer=True),
            "temperature": _number(payload, "temperature", 0.0, 0.0, 100.0),
            "top_p": _number(payload, "topP", 1.0, 1e-6, 1.0),
        }
        stop = payload.get("stop", [])
        stop = [stop] if isinstance(stop, str) else stop
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise PredictorError('"stop" must be a string or a list of strings')
        return {"completions": self.generator.generate(rows, stop=stop, **options)}


def _number(payload: dict[str, Any], key: str, default: float, low: float, high: float, integer: bool = False) -> Any:
    value = payload.get(key, default)
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        what = "an integer" if integer else "a number"
        raise PredictorError(f'"{key}" must be {what} from {low:g} to {high:g} (got {value!r})')
    return value
