"""``dataConfig``: read with Ray Data, check, split, preprocess (fitted on the training split only) and hand
Ray Train its ``datasets=``. Runs once in the driver, before any worker or trial starts, so a search
shares one preprocessed copy (in Ray's object store) across all its trials.

The fitted transform is saved (``data_pipeline.pkl``) and every built-in checkpoint carries it, so
serving applies the same transform to raw request rows.

Imports Ray Data: loaded only for a run with ``dataConfig``.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raydt.data.guard import bad_rows, guard, last_line, plain
from raydt.data.steps import Step, build, columns_of, numeric
from raydt.errors import DataError, SpecIssue
from raydt.frameworks.checkpoint_format import FEATURES, PIPELINE_FILE  # the built-in trainers' input column
from raydt.paths import data_paths, expand
from raydt.spec.model import DataConfig, DataSource

MAX_CLASSES = 1000
DEFAULT_SPLIT = 0.2


@dataclass
class Pipeline:
    """The fitted transform from raw rows to the built-in trainers' input (pickled with each checkpoint)."""

    raw_columns: list[str]  # the feature columns as in the source data, in order (a row given as a list)
    label: str | None
    steps: list[Step]
    classes: list[Any] = field(default_factory=list)  # class index -> label value as in the data
    concat: Any = None  # Ray's Concatenator: feature columns -> one float32 vector

    def unused(self) -> list[str]:
        """Raw columns a dropColumns step removes: a request may leave them out."""
        from raydt.data.steps import DropColumns

        dropped = {c for s in self.steps if isinstance(s, DropColumns) for c in s.options["columns"]}
        return [c for c in self.raw_columns if c in dropped]

    def transform_batch(self, df: pd.DataFrame) -> pd.DataFrame:
        for step in self.steps:
            df = step.transform_batch(df)
        return df

    def features(self, df: pd.DataFrame) -> np.ndarray:
        """Raw feature rows -> the model's input matrix (float32)."""
        out = self.concat.transform_batch(self.transform_batch(df))
        return np.stack(out[FEATURES].to_numpy()).astype(np.float32)

    def save(self, path: Path) -> None:
        from ray import cloudpickle

        path.write_bytes(cloudpickle.dumps(self))

    @staticmethod
    def load(path: str | Path) -> Pipeline:
        from ray import cloudpickle

        pipeline: Pipeline = cloudpickle.loads(Path(path).read_bytes())
        return pipeline


@dataclass
class Prepared:
    """Ray Train's ``datasets=`` and what the loops and the result need to know about them."""

    datasets: dict[str, Any]
    info: dict[str, Any]  # JSON-ready: label, columns, classes, inputSize, rows, steps, pipelineFile


# The steps of preparing data run in one order (read, split, check, fit, transform, materialize) and each
# names the file or column it failed on; one function keeps that order visible, hence its length.
def prepare(dc: DataConfig, base_dirs: tuple[Path, ...], builtin: bool, out_dir: str, view: Any = None) -> Prepared:
    """Read, check, split and preprocess ``dc``; raise ``DataError`` naming file and column on bad data."""
    import ray.data
    from ray.data.context import ShuffleStrategy

    started = time.monotonic()
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.shuffle_strategy = ShuffleStrategy(dc.shuffle_strategy)
    train = read(dc.train, "dataConfig.train", base_dirs, dc.concurrency)
    found = columns_of(train)
    label = dc.train.label
    wanted = _select(dc.train, "dataConfig.train", found)
    train = train.select_columns(wanted)
    _not_empty(train, "dataConfig.train", dc.train, base_dirs)
    if dc.validation is not None:
        val = read(dc.validation, "dataConfig.validation", base_dirs, dc.concurrency)
        _same_columns(dc.validation, columns_of(val), wanted)
        val = val.select_columns(wanted)
        if dc.materialize:
            train, val = train.materialize(), val.materialize()
    else:
        if dc.materialize:
            train = train.materialize()  # read once; the split below cuts this copy
        train, val = train.train_test_split(test_size=dc.validation_split or DEFAULT_SPLIT, shuffle=True, seed=dc.seed)
    _not_empty(train, "dataConfig.train", dc.train, base_dirs)  # after the split, too: a 1-row file
    _not_empty(
        val,
        "dataConfig.validation" if dc.validation else "dataConfig.validationSplit",
        dc.validation or dc.train,
        base_dirs,
    )

    steps = build(dc.preprocess, label, base_dirs)
    for step in steps:  # fitted on the training split only; validation gets the same transform
        guard(step.where, functools.partial(step.fit, train))
        train = step.transform(train, dc.batch_size, dc.concurrency)
        val = step.transform(val, dc.batch_size, dc.concurrency)
        if dc.materialize:
            train = guard(step.where, train.materialize)  # each step runs once over each row
    raw_columns = [c for c in wanted if c != label]
    pipeline = Pipeline(raw_columns, label, steps)
    info: dict[str, Any] = {"label": label, "rawColumns": raw_columns, "steps": [s.describe() for s in steps]}
    if builtin:
        assert label is not None  # checked by spec.data_checks
        train, val = _for_builtin(train, val, pipeline, dc)
        info.update(classes=pipeline.classes, numClasses=len(pipeline.classes))
        info["inputSize"] = int(np.asarray(train.take(1)[0][FEATURES]).shape[0])
    if dc.materialize:
        train, val = (
            guard("dataConfig.preprocess", train.materialize),
            guard("dataConfig.preprocess", val.materialize),
        )
    info["rows"] = {"train": train.count(), "validation": val.count()} if dc.materialize else None
    info["columns"] = list(columns_of(train))
    folder = Path(out_dir) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    pipeline.save(folder / PIPELINE_FILE)
    info["pipelineFile"] = str(folder / PIPELINE_FILE)
    info["materialized"] = dc.materialize
    info["prepareSeconds"] = round(time.monotonic() - started, 2)
    (folder / "data_meta.json").write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
    if view is not None:
        rows = info["rows"] or {}
        view.event(
            f"data: {rows.get('train', '?')} train / {rows.get('validation', '?')} validation rows, "
            f"columns {', '.join(info['columns'])}, prepared in {info['prepareSeconds']:g}s"
        )
    return Prepared({"train": train, "validation": val}, info)


def read(source: DataSource, where: str, base_dirs: tuple[Path, ...], concurrency: int | None = None) -> Any:
    """One source as a Ray Data dataset (lazy), its schema read now: a missing, unreadable or empty file is the
    data's error at ``where``. ``mode: predict`` reads its data with it too."""
    import ray.data

    paths = expand(data_paths(source.paths, base_dirs))
    readers = {
        "csv": ray.data.read_csv,
        "parquet": ray.data.read_parquet,
        "json": ray.data.read_json,
        "numpy": ray.data.read_numpy,
        "images": ray.data.read_images,
    }
    options: dict[str, Any] = {"concurrency": concurrency}
    if source.format == "images":
        options["include_paths"] = True
    try:
        ds = readers[source.format](paths, **options)
        schema = ds.schema()  # reads enough to fail now on a missing, unreadable or malformed file
    except Exception as exc:  # noqa: BLE001 - any reader failure is the data's, said with the file
        raise DataError(
            [SpecIssue(f"{where}.paths", f"cannot be read as {source.format}: {last_line(exc)}", paths)]
        ) from None
    if schema is None:  # nothing to read: headers only, or empty files
        raise DataError([SpecIssue(where, "has no rows", paths, "Point it at non-empty files.")])
    return ds


def _select(source: DataSource, where: str, found: dict[str, Any]) -> list[str]:
    """The columns to keep (features + label), each checked to exist."""
    names = list(found)
    issues = []
    if source.label is not None and source.label not in found:
        from raydt.suggest import closest

        issues.append(
            SpecIssue(f"{where}.label", "is not a column of the data", source.label, closest(source.label, names))
        )
    features = source.features or [c for c in names if c != source.label]
    missing = [c for c in features if c not in found]
    if missing:
        issues.append(
            SpecIssue(
                f"{where}.features",
                f"not columns of the data: {', '.join(missing)}",
                missing,
                f"Columns: {', '.join(names)}.",
            )
        )
    if not [c for c in features if c != source.label]:
        issues.append(SpecIssue(f"{where}.features", "no feature column left besides the label", names))
    if issues:
        raise DataError(issues)
    return [*features, *([source.label] if source.label else [])]


def _same_columns(source: DataSource, found: dict[str, Any], wanted: list[str]) -> None:
    missing = [c for c in wanted if c not in found]
    if missing:
        raise DataError(
            [
                SpecIssue(
                    "dataConfig.validation.paths",
                    f"lacks columns the training data has: {', '.join(missing)}",
                    source.paths,
                    f"Validation columns: {', '.join(found)}.",
                )
            ]
        )


def _not_empty(ds: Any, where: str, source: DataSource, base_dirs: tuple[Path, ...]) -> None:
    if ds.limit(1).count() == 0:
        raise DataError(
            [SpecIssue(where, "has no rows", data_paths(source.paths, base_dirs), "Point it at non-empty files.")]
        )


# Long for the same reason as prepare: label encoding, column checks and the features' concatenation in
# the order Ray's preprocessors need them, each error naming its column.
def _for_builtin(train: Any, val: Any, pipeline: Pipeline, dc: DataConfig) -> tuple[Any, Any]:
    """Every feature numeric and present, labels -> class indices, features -> one float32 vector."""
    from ray.data.preprocessors import Concatenator, LabelEncoder

    label = pipeline.label
    assert label is not None
    types = columns_of(train)
    if label not in types:
        raise DataError([SpecIssue("dataConfig.preprocess", "a step removed the label column", label)])
    features = [c for c in types if c != label]
    wrong = {c: str(t) for c, t in types.items() if c != label and not numeric(t)}
    if wrong:
        listed = ", ".join(f"{c} ({t})" for c, t in wrong.items())
        raise DataError(
            [
                SpecIssue(
                    "dataConfig.preprocess",
                    f"the built-in trainers need numeric features; not numeric: {listed}",
                    list(wrong),
                    f'Encode them ({{"oneHot": {{"columns": {json.dumps(list(wrong))}}}}}), cast them, or drop them.',
                )
            ]
        )
    encoder = LabelEncoder(label)
    guard("dataConfig.train.label", functools.partial(encoder.fit, train))
    mapping = encoder.stats_[f"unique_values({label})"]
    classes = list(mapping)
    if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in classes):
        raise DataError([SpecIssue("dataConfig.train.label", "has missing values", label, "Drop or fill those rows.")])
    if len(classes) < 2 or len(classes) > MAX_CLASSES:
        raise DataError(
            [
                SpecIssue(
                    "dataConfig.train.label",
                    f"the built-in trainers classify: the label needs 2..{MAX_CLASSES} distinct values",
                    f"{len(classes)} distinct values",
                    "Check the label column (a regression target needs your own trainer).",
                )
            ]
        )
    pipeline.classes = [plain(v) for v, _ in sorted(mapping.items(), key=lambda kv: kv[1])]
    pipeline.concat = Concatenator(columns=features, output_column_name=FEATURES, dtype=np.float32, flatten=True)
    out = []
    for ds in (train, val):
        ds = encoder.transform(ds, batch_size=dc.batch_size, concurrency=dc.concurrency)
        ds = pipeline.concat.transform(ds, batch_size=dc.batch_size, concurrency=dc.concurrency)
        out.append(ds.select_columns([FEATURES, label]))
    if dc.materialize:
        out = [guard("dataConfig.preprocess", ds.materialize) for ds in out]
    for name, ds in zip(("train", "validation"), out, strict=True):
        counts = guard(f"dataConfig.{name}", functools.partial(bad_rows, ds, label))
        if counts["label"]:  # only validation can have labels the encoder (fitted on train) does not know
            raise DataError(
                [
                    SpecIssue(
                        f"dataConfig.{name}",
                        f"{counts['label']} row(s) have label values the training split lacks (or none)",
                        label,
                        "Every validation class must occur in the training data.",
                    )
                ]
            )
        if counts["features"]:
            raise DataError(
                [
                    SpecIssue(
                        f"dataConfig.{name}",
                        f"{counts['features']} row(s) have missing feature values after preprocessing",
                        counts["features"],
                        'Add {"fillNa": {}} (mean) to dataConfig.preprocess, or drop those rows.',
                    )
                ]
            )
    return out[0], out[1]
