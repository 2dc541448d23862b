"""``dataConfig``: Ray Data reading, preprocessing and sharding for Ray Train (imports Ray Data lazily)."""

from __future__ import annotations

from typing import Any

from raydt.frameworks.common import RESERVED_KEY

#: what the built-in loops read from their config (the rest of the info goes to the result)
LOOP_KEYS = ("label", "numClasses", "classes", "inputSize", "rawColumns", "pipelineFile", "steps")


def attach(
    loaded: Any,
    loop_config: dict[str, Any],
    builtin: bool,
    experiment_path: str,
    view: Any,
    status: dict[str, Any] | None = None,
    training_cpu: float = 0.0,
) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any] | None]:
    """Prepare ``dataConfig`` (once, in the driver): Ray Train's ``datasets=``, the loop config the built-in
    loops read it from, and the info for the result. Without dataConfig: (None, loop_config, None).

    ``training_cpu``: CPUs the workers (all trials at once) hold; streaming needs one left for Ray Data."""
    dc = loaded.spec.data_config
    if dc is None:
        return None, loop_config, None
    if not dc.materialize and status is not None and not status.get("autoscaler"):
        _check_streaming(float(status.get("totalCpu", 0.0)), training_cpu)
    llm = (loop_config.get(RESERVED_KEY) or {}).get("llm")
    if llm is not None:  # framework transformers: text rows, tokenized
        from raydt.data.text import prepare_text

        prepared = prepare_text(dc, loaded.base_dirs, llm["tokenizer"], experiment_path, view)
        text = {**prepared.info["text"], "rows": prepared.info["rows"]}  # rows: the LR schedule's step count
        reserved = {**(loop_config.get(RESERVED_KEY) or {}), "data": text}
        return prepared.datasets, {**loop_config, RESERVED_KEY: reserved}, prepared.info
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


def _check_streaming(total_cpu: float, training_cpu: float) -> None:
    """materialize: false streams from the files while training runs: Ray Data's tasks then need a CPU the
    workers leave free, else they wait on each other forever (Ray Data stays backpressured)."""
    from raydt.errors import DataError, SpecIssue

    if total_cpu - training_cpu < 1.0:
        raise DataError(
            [
                SpecIssue(
                    "dataConfig.materialize",
                    f"false streams the data while training, and Ray Data's tasks need a CPU the workers leave "
                    f"free: the workers hold {training_cpu:g} of the cluster's {total_cpu:g} CPUs",
                    False,
                    "Keep materialize: true (the default), or lower config.resourcesPerWorker.cpu / numWorkers.",
                )
            ]
        )
