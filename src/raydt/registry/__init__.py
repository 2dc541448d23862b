"""Registries: the single source of truth that validation, ``raydt schema``, the CLI and docs read.

Registries hold names, code holds behaviour: each entry declares what it supports (capability flags) and names
what implements it, by dotted path or by an optional build hook; no module outside this package compares a
scheduler or searcher name, or lists frameworks, to decide what to do (``tests/unit/test_registry.py``).
Nothing here imports Ray or an ML framework: a framework's package (``raydt/frameworks/<name>/``), a
scheduler's or searcher's class and the build hooks (``runners.tune.builders``, named by string) are imported
only when a run needs them.

- ``registry`` (here): the frameworks (``FrameworkInfo``, in ``frameworks.base``) and the preprocess steps;
- ``registry.tune``: the schedulers and searchers, their options, flags and hooks;
- ``registry.choice``: ``choose``, the automatic scheduler/searcher choice of a search;
- build hooks: ``runners.tune.builders`` (a row names its hook as "module:function"; Ray imported when it runs).
"""

from __future__ import annotations

from dataclasses import dataclass

from raydt.frameworks import lightgbm, lightning, pytorch, tensorflow, transformers, xgboost
from raydt.frameworks.base import FrameworkInfo as FrameworkInfo  # re-exported: plan, checks and runners read it here
from raydt.registry.choice import Choice as Choice
from raydt.registry.choice import choose as choose
from raydt.registry.tune import DEFAULT_SCHEDULER as DEFAULT_SCHEDULER
from raydt.registry.tune import DEFAULT_SEARCHER as DEFAULT_SEARCHER
from raydt.registry.tune import SCHEDULERS as SCHEDULERS
from raydt.registry.tune import SEARCHERS as SEARCHERS
from raydt.registry.tune import Option as Option
from raydt.registry.tune import OwnScheduler as OwnScheduler
from raydt.registry.tune import SchedulerInfo as SchedulerInfo
from raydt.registry.tune import SearcherInfo as SearcherInfo
from raydt.registry.tune import load as load

#: The frameworks the seed's input schema names; `trainConfig.framework` accepts these and the registry's others.
SEED_FRAMEWORKS: tuple[str, ...] = ("pytorch", "tensorflow", "xgboost")

#: One line per framework; its package (raydt/frameworks/<name>/) holds everything else about it.
FRAMEWORKS: dict[str, FrameworkInfo] = {
    info.name: info
    for info in (pytorch.INFO, xgboost.INFO, tensorflow.INFO, lightgbm.INFO, lightning.INFO, transformers.INFO)
}

#: `trainConfig.framework`'s enum: the seed's values in its order, then raydt's extensions.
FRAMEWORK_NAMES: tuple[str, ...] = SEED_FRAMEWORKS + tuple(n for n in FRAMEWORKS if n not in SEED_FRAMEWORKS)


def framework_distributions() -> tuple[str, ...]:
    """Every framework's distributions, each once, in the registry's order (what doctor lists versions of)."""
    return tuple(dict.fromkeys(d for info in FRAMEWORKS.values() for d in info.distributions))


@dataclass(frozen=True)
class StepInfo:
    """A ``dataConfig.preprocess`` step: its options (name -> help) and its required options."""

    name: str
    options: dict[str, str]
    required: tuple[str, ...]
    description: str


_COLUMNS = "list of column names"
#: ``dataConfig.preprocess`` steps: validation, docs and the Ray Data pipeline (raydt.data.steps) read this.
STEPS: dict[str, StepInfo] = {
    "standardize": StepInfo(
        "standardize",
        {"columns": f"{_COLUMNS} (default: every numeric feature column)"},
        (),
        "(x - mean) / std with the training split's statistics",
    ),
    "minMaxScale": StepInfo(
        "minMaxScale",
        {"columns": f"{_COLUMNS} (default: every numeric feature column)"},
        (),
        "(x - min) / (max - min) with the training split's statistics",
    ),
    "oneHot": StepInfo(
        "oneHot",
        {"columns": _COLUMNS, "maxCategories": "most categories per column (rarer ones encode as all zeros)"},
        ("columns",),
        "one 0/1 feature per category seen in the training split (unseen categories: all zeros)",
    ),
    "fillNa": StepInfo(
        "fillNa",
        {
            "columns": f"{_COLUMNS} (default: every feature column)",
            "strategy": "mean | most_frequent | constant (default mean, or constant when value is given)",
            "value": "the fill value of strategy constant",
        },
        (),
        "missing values -> the training split's mean / most frequent value, or a constant",
    ),
    "dropColumns": StepInfo("dropColumns", {"columns": _COLUMNS}, ("columns",), "drop these columns"),
    "cast": StepInfo(
        "cast",
        {"columns": _COLUMNS, "to": "float32 | float64 | int32 | int64 | string"},
        ("columns", "to"),
        "convert these columns to a type",
    ),
    "mapBatches": StepInfo(
        "mapBatches",
        {"batchSize": "rows per batch (default dataConfig.batchSize)", "concurrency": "tasks at once (default 1)"},
        (),
        "{mapBatches: 'file.py:function', batchSize, concurrency}: your function, pandas DataFrame in and out",
    ),
}
CAST_TYPES = ("float32", "float64", "int32", "int64", "string")
FILL_STRATEGIES = ("mean", "most_frequent", "constant")
#: Ray Data formats the built-in trainers read as tables (numpy and images go to your own trainer).
TABULAR_FORMATS = ("csv", "parquet", "json")
#: The keys of a dataConfig.preprocess step that runs the user's function (the issue's snake_case spelling too).
MAP_KEYS = ("mapBatches", "map_batches")
