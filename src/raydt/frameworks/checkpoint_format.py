"""The checkpoint format of raydt's built-in trainers: the one definition their loops write and the serving
predictor, preflight and Ray Data's pipeline read.

A built-in checkpoint directory holds::

    raydt_meta.json      META_FILE: framework, model, input size, classes, preprocessing, hyperparameters
    data_pipeline.pkl    PIPELINE_FILE: dataConfig's fitted transform (dataConfig runs only)
    <model files>        the framework's own (named in its trainer.py, read by its predictor.py)

The built-in trainers read their input from one float32 vector column, ``FEATURES``, which raydt's Ray
Data pipeline produces.
"""

from __future__ import annotations

import json
import os
from typing import Any

META_FILE = "raydt_meta.json"
PIPELINE_FILE = "data_pipeline.pkl"
FEATURES = "features"


def write_meta(directory: str, meta: dict[str, Any]) -> None:
    """Write ``raydt_meta.json`` into a checkpoint directory."""
    with open(os.path.join(directory, META_FILE), "w", encoding="utf-8") as fh:
        json.dump(meta, fh)


def read_meta(directory: str) -> dict[str, Any] | None:
    """A checkpoint's ``raydt_meta.json`` (None: not a checkpoint of a raydt built-in trainer)."""
    path = os.path.join(directory, META_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as fh:
        meta: dict[str, Any] = json.load(fh)
    return meta
