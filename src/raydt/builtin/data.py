"""Bundled datasets, split and standardised the same way on every worker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEED = 0
VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class Split:
    """A stratified train/validation split, standardised with statistics of the train part only."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    mean: np.ndarray
    std: np.ndarray
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
