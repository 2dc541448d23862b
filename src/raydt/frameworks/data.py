"""The built-in trainers' data: the bundled datasets (split and standardised the same way on every worker),
or, with ``dataConfig``, this worker's Ray Data shard (``ray.train.get_dataset_shard``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from raydt.frameworks.checkpoint_format import FEATURES, PIPELINE_FILE
from raydt.frameworks.common import RESERVED_KEY

SEED = 0
VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class Split:
    """A stratified train/validation split, standardised with statistics of the train part only."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    mean: np.ndarray | None  # None: dataConfig's own preprocessing (a pipeline saved with the checkpoint)
    std: np.ndarray | None
    num_classes: int


def digits() -> Split:
    """scikit-learn's 8x8 digits (1,797 rows, 64 features, 10 classes)."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return _split(x, y, 10)


def breast_cancer() -> Split:
    """scikit-learn's breast cancer data (569 rows, 30 features, 2 classes)."""
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    return _split(x, y, 2)


def _split(x: np.ndarray, y: np.ndarray, num_classes: int) -> Split:
    from sklearn.model_selection import train_test_split

    x_tr, x_va, y_tr, y_va = train_test_split(
        x.astype(np.float32), y, test_size=VALIDATION_FRACTION, random_state=SEED, stratify=y
    )
    mean = x_tr.mean(axis=0)
    std = x_tr.std(axis=0)
    std[std < 1e-6] = 1.0  # constant columns: leave them centred, never divide by ~0
    x_tr, x_va = (x_tr - mean) / std, (x_va - mean) / std
    return Split(x_tr, y_tr.astype(np.int64), x_va, y_va.astype(np.int64), mean, std, num_classes)


def data_info(config: dict[str, Any]) -> dict[str, Any] | None:
    """What raydt.data prepared for this run (None: the bundled dataset)."""
    info = (config.get(RESERVED_KEY) or {}).get("data")
    return info if isinstance(info, dict) else None


def load(config: dict[str, Any], bundled: Callable[[], Split], train_rows: bool = True) -> Split:
    """The bundled dataset, or this worker's shard of ``dataConfig``'s training data plus all validation
    rows (``train_rows=False``: the loop streams its shard itself)."""
    info = data_info(config)
    if info is None:
        return bundled()
    import ray.train

    label = str(info["label"])
    empty = (np.zeros((0, int(info["inputSize"])), np.float32), np.zeros(0, np.int64))
    x_tr, y_tr = shard_arrays(ray.train.get_dataset_shard("train"), label) if train_rows else empty
    x_va, y_va = shard_arrays(ray.train.get_dataset_shard("validation"), label)
    return Split(x_tr, y_tr, x_va, y_va, None, None, int(info["numClasses"]))


def shard_arrays(shard: Any, label: str, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """A Ray Data shard (DataIterator) read once into (features float32, labels int64)."""
    xs, ys = [], []
    for batch in shard.iter_batches(batch_size=batch_size, batch_format="numpy"):
        xs.append(np.asarray(batch[FEATURES], dtype=np.float32).reshape(len(batch[label]), -1))
        ys.append(np.asarray(batch[label], dtype=np.int64))
    if not xs:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64)
    return np.concatenate(xs), np.concatenate(ys)


def preprocessing_meta(data: Split, config: dict[str, Any]) -> dict[str, Any]:
    """``raydt_meta.json``'s preprocessing (and data) entries: what serving must apply to raw rows."""
    info = data_info(config)
    if info is None:
        assert data.mean is not None and data.std is not None
        return {"preprocessing": {"standardize": {"mean": data.mean.tolist(), "std": data.std.tolist()}}}
    return {
        "preprocessing": {"pipeline": PIPELINE_FILE},
        "data": {k: info.get(k) for k in ("label", "rawColumns", "classes", "steps")},
    }


def save_preprocessing(config: dict[str, Any], directory: str) -> None:
    """Copy the fitted dataConfig pipeline into a checkpoint directory (nothing for bundled data)."""
    info = data_info(config)
    if info is not None:
        shutil.copyfile(str(info["pipelineFile"]), os.path.join(directory, PIPELINE_FILE))


def checkpoint_meta(
    framework: str, model: str, data: Split, loop_config: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """A built-in checkpoint's ``raydt_meta.json``: framework, model module, the trainer's own ``fields``
    (sizes, its hyperparameters as ``config``), classes and the data's preprocessing: what serving needs."""
    return {
        "framework": framework,
        "model": model,
        **fields,
        "numClasses": data.num_classes,
        **preprocessing_meta(data, loop_config),
    }


def write_checkpoint_files(directory: str, meta: dict[str, Any], config: dict[str, Any]) -> None:
    """raydt's own files in a built-in checkpoint: the metadata and, with dataConfig, the fitted pipeline."""
    from raydt.frameworks.checkpoint_format import write_meta

    write_meta(directory, meta)
    save_preprocessing(config, directory)
