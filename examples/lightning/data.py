"""Data for the Lightning example: scikit-learn's bundled digits, as a LightningDataModule or as Datasets."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset


def _split() -> tuple[TensorDataset, TensorDataset]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    xt, yt = torch.tensor(x, dtype=torch.float32) / 16.0, torch.tensor(y, dtype=torch.int64)
    order = torch.randperm(len(xt), generator=torch.Generator().manual_seed(0))
    cut = int(len(xt) * 0.8)
    train, val = order[:cut], order[cut:]
    return TensorDataset(xt[train], yt[train]), TensorDataset(xt[val], yt[val])


def digits() -> tuple[TensorDataset, TensorDataset]:
    """(train, validation) Datasets: raydt builds the DataLoaders with trainLoopConfig.batchSize."""
    return _split()


class DigitsData(pl.LightningDataModule):
    """The same data as a LightningDataModule: it builds its own DataLoaders (Lightning adds the sampler)."""

    def __init__(self, batch_size: int = 64) -> None:
        super().__init__()
        self.batch_size = batch_size

    def setup(self, stage: str | None = None) -> None:
        self.train, self.val = _split()

    def train_dataloader(self) -> DataLoader[Any]:
        return DataLoader(self.train, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader[Any]:
        return DataLoader(self.val, batch_size=self.batch_size)


def digits_module(config: dict[str, Any]) -> DigitsData:
    """trainConfig.data may return a LightningDataModule: this one reads batchSize from the config."""
    return DigitsData(batch_size=int(config.get("batchSize", 64)))
