"""Where raydt's loop for a user model gets its rows: ``trainConfig.data``'s torch Datasets, or ``dataConfig``'s
Ray Data shards.

- ``trainConfig.data``: DataLoaders under Ray Train's ``prepare_data_loader`` (a DistributedSampler: each worker
  reads its own part of train and of validation).
- ``dataConfig``: the run's preprocessed Ray Data (a ``features`` vector and the class index of the label, as the
  built-in trainers get it). This worker's train shard (Ray Train splits train equally across workers) is read
  once into tensors and shuffled locally each epoch; validation, whole on every worker, is cut by rank so that
  each row is evaluated once. No DistributedSampler: the rows are already this worker's.
"""

from __future__ import annotations

from typing import Any


def loaders(refs: dict[str, Any], config: dict[str, Any], batch: int) -> tuple[Any, Any]:
    """(train, validation) loaders of this worker, their batches on its device."""
    import ray.train.torch
    from torch.utils.data import DataLoader

    from raydt.frameworks.data import data_info
    from raydt.frameworks.pytorch.user import code

    info = data_info(config)
    if info is None:
        train_ds, val_ds = code.load_data(refs["data"], config)
        train = ray.train.torch.prepare_data_loader(DataLoader(train_ds, batch_size=batch, shuffle=True))
        return train, ray.train.torch.prepare_data_loader(DataLoader(val_ds, batch_size=batch, shuffle=False))
    train_ds, val_ds = shard_datasets(str(info["label"]))
    train = DataLoader(train_ds, batch_size=batch, shuffle=True)
    val = DataLoader(val_ds, batch_size=batch, shuffle=False)
    prepare = ray.train.torch.prepare_data_loader
    return prepare(train, add_dist_sampler=False), prepare(val, add_dist_sampler=False)


def shard_datasets(label: str) -> tuple[Any, Any]:
    """This worker's train shard and its slice of validation as TensorDatasets (features float32, class int64)."""
    import numpy as np
    import ray.train
    import torch
    from torch.utils.data import TensorDataset

    from raydt.frameworks.data import shard_arrays

    x_tr, y_tr = shard_arrays(ray.train.get_dataset_shard("train"), label)
    x_va, y_va = shard_arrays(ray.train.get_dataset_shard("validation"), label)
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    x_va, y_va = np.ascontiguousarray(x_va[rank::world]), np.ascontiguousarray(y_va[rank::world])
    if len(x_tr) == 0:
        raise ValueError(f"dataConfig: worker {rank} got no training rows (fewer rows than workers?)")
    pair = (torch.from_numpy(x_tr), torch.from_numpy(y_tr)), (torch.from_numpy(x_va), torch.from_numpy(y_va))
    return TensorDataset(*pair[0]), TensorDataset(*pair[1])
