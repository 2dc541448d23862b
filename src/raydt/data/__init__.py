"""``dataConfig``: Ray Data reading, preprocessing and sharding for Ray Train (imports Ray Data lazily)."""

from __future__ import annotations

from typing import Any

from raydt.builtin.common import RESERVED_KEY

#: what the built-in loops read from their config (the rest of the info goes to the result)
LOOP_KEYS = ("label", "numClasses", "classes", "inputSize", "rawColumns", "pipelineFile", "steps")


def attach(
    loaded: Any, loop_config: dict[str, Any], builtin: bool, experiment_path: str, view: Any
) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any] | None]:
    """Prepare ``dataConfig`` (once, in the driver): Ray Train's ``datasets=``, the loop config the built-in
    loops read it from, and the info for the result. Without dataConfig: (None, loop_config, None)."""
    dc = loaded.spec.data_config
    if dc is None:
        return None, loop_config, None
    from raydt.data.pipeline import prepare

    prepared = prepare(dc, loaded.base_dirs, builtin, experiment_path, view)
    if builtin:
        reserved = dict(loop_config.get(RESERVED_KEY) or {})
        reserved["data"] = {k: prepared.info[k] for k in LOOP_KEYS if k in prepared.info}
        loop_config = {**loop_config, RESERVED_KEY: reserved}
    return prepared.datasets, loop_config, prepared.info


def dataset_config() -> Any:
    """Ray Train's DataConfig: the training set split across workers, validation whole on each."""
    from ray.train import DataConfig

    return DataConfig(datasets_to_split=["train"])
