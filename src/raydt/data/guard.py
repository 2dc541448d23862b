"""What a run's data did wrong, as the spec's error: a step or read that raised on the data (``guard``), label
rows that cannot train (``bad_rows``). Imports Ray Data only through the datasets it is handed."""

from __future__ import annotations

from typing import Any

import numpy as np

from raydt.errors import DataError, SpecIssue
from raydt.frameworks.checkpoint_format import FEATURES  # the built-in trainers' input column


def bad_rows(ds: Any, label: str) -> dict[str, int]:
    """Rows whose features hold NaN, and rows whose label did not encode (one pass, tasks only)."""

    def count(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        x = np.asarray(batch[FEATURES], dtype=np.float32).reshape(len(batch[FEATURES]), -1)
        y = np.asarray(batch[label], dtype=np.float64)
        return {
            "features": np.asarray([int(np.isnan(x).any(axis=1).sum())]),
            "label": np.asarray([int(np.isnan(y).sum())]),
        }

    found = {"features": 0, "label": 0}
    for row in ds.map_batches(count, batch_format="numpy").take_all():
        found["features"] += int(row["features"])
        found["label"] += int(row["label"])
    return found


def plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def guard(where: str, fn: Any) -> Any:
    """Run a Ray Data execution; a failure in it is a data error naming the step."""
    from raydt.errors import RaydtError

    try:
        return fn()
    except RaydtError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DataError([SpecIssue(where, f"failed on the data: {last_line(exc)}", None)]) from None


def last_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__
