"""Framework adapters: one shape, found through the registry; a missing package names its extra."""

from __future__ import annotations

import dataclasses

import pytest

from raydt import frameworks
from raydt.errors import MissingDependencyError
from raydt.frameworks.base import FrameworkAdapter
from raydt.registry import FRAMEWORKS


def test_missing_framework_package_names_the_extra_to_install() -> None:
    info = dataclasses.replace(FRAMEWORKS["xgboost"], modules=("no_such_package_xyz",))
    with pytest.raises(MissingDependencyError) as exc:
        frameworks.adapter(info)
    assert "no_such_package_xyz" in exc.value.message
    assert "ray-distributed-trainer[xgboost]" in exc.value.hint
    assert exc.value.code == "MISSING_DEPENDENCY"


@pytest.mark.parametrize("name", list(FRAMEWORKS))
def test_every_registered_framework_has_an_adapter_of_the_same_shape(name: str) -> None:
    adapter = frameworks.adapter(FRAMEWORKS[name])
    assert isinstance(adapter, FrameworkAdapter)
    assert callable(adapter.builtin_loop())
    assert adapter.trainer_class().__name__.endswith("Trainer")
    assert isinstance(adapter.worker_env(), dict)
    info = FRAMEWORKS[name]
    assert info.default_metric in info.builtin_metrics
    assert info.epochs_param in info.builtin_params
