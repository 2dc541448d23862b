"""Plain PyTorch datasets: functions returning (train, validation) torch Datasets."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import TensorDataset


def _digits() -> tuple[Any, Any]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32) / 16.0
    return x, torch.tensor(y, dtype=torch.int64)


def _split(x: Any, y: Any, fraction: float = 0.2) -> tuple[TensorDataset, TensorDataset]:
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    cut = int(len(x) * (1 - fraction))
    return TensorDataset(x[order[:cut]], y[order[:cut]]), TensorDataset(x[order[cut:]], y[order[cut:]])


def digits_flat() -> tuple[TensorDataset, TensorDataset]:
    """scikit-learn's digits as 64 features per row, 10 classes."""
    return _split(*_digits())


def digits_images() -> dict[str, TensorDataset]:
    """The same digits as 1x8x8 images (for the CNN), as a dict."""
    x, y = _digits()
    train, val = _split(x.reshape(-1, 1, 8, 8), y)
    return {"train": train, "validation": val}


def diabetes(config: dict[str, Any]) -> tuple[TensorDataset, TensorDataset]:
    """scikit-learn's diabetes regression data (10 features), standardised."""
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    xt = torch.tensor(x, dtype=torch.float32)
    xt = (xt - xt.mean(0)) / xt.std(0)
    yt = torch.tensor((y - y.mean()) / y.std(), dtype=torch.float32)
    return _split(xt, yt)
