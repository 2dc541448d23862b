"""What the plan hands raydt's loop for a user model: the loop's defaults, and under the reserved key the
references (files made absolute once) and the metric early stopping watches. Plain data: no torch import."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from raydt import paths
from raydt.frameworks.pytorch import USER_PARAMS

if TYPE_CHECKING:
    from raydt.frameworks.base import FrameworkInfo
    from raydt.spec.model import Spec


def user_model_defaults() -> dict[str, Any]:
    """The defaults of raydt's loop for a user model (trainConfig.model)."""
    return dict(USER_PARAMS)


def user_model_settings(spec: Spec, info: FrameworkInfo, base_dirs: tuple[Path, ...]) -> dict[str, Any]:
    """``{model, data, loss, metrics, metric, mode, strategy[, preprocess, postprocess]}``: ``file.py:name``
    references with their files absolute (loss names and module references as given), and the metric (and mode)
    ``patience`` watches: the search's in tune mode (its first objective), else the run's."""
    tc = spec.train_config

    def one(value: str) -> str:
        return paths.resolve_ref(value, base_dirs)

    tune = spec.tune_config if spec.mode == "tune" else None
    metric: Any = (tune.metric if tune else None) or tc.metric or info.default_metric
    mode: Any = (tune.mode if tune else None) or tc.metric_mode or info.default_mode
    out = {
        "model": one(tc.model if isinstance(tc.model, str) else ""),
        "data": one(tc.data or ""),
        "loss": one(tc.loss or "cross_entropy"),
        "metrics": [one(m) for m in tc.metrics],
        "metric": metric[0] if isinstance(metric, list) else metric,
        "mode": mode[0] if isinstance(mode, list) else mode,
        "strategy": tc.strategy or "ddp",
    }
    for key, hook in (("preprocess", tc.preprocess), ("postprocess", tc.postprocess)):
        if hook:  # saved with the checkpoint (raydt_meta.json's userModel): mode serve calls it
            out[key] = one(hook)
    return out
