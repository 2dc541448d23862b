"""Registries: the single source of truth that validation, ``raydt schema``, the CLI and docs read.

Nothing here imports Ray or an ML framework: each entry names what implements it by dotted path (a
framework: its package, ``raydt/frameworks/<name>/``), imported only when a run needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from raydt.frameworks import lightgbm, lightning, pytorch, tensorflow, xgboost
from raydt.frameworks.base import FrameworkInfo as FrameworkInfo  # re-exported: plan, checks and runners read it here

#: The frameworks the seed's input schema names; `trainConfig.framework` accepts these and the registry's others.
SEED_FRAMEWORKS: tuple[str, ...] = ("pytorch", "tensorflow", "xgboost")

#: One line per framework; its package (raydt/frameworks/<name>/) holds everything else about it.
FRAMEWORKS: dict[str, FrameworkInfo] = {
    info.name: info for info in (pytorch.INFO, xgboost.INFO, tensorflow.INFO, lightgbm.INFO, lightning.INFO)
}

#: `trainConfig.framework`'s enum: the seed's values in its order, then raydt's extensions.
FRAMEWORK_NAMES: tuple[str, ...] = SEED_FRAMEWORKS + tuple(n for n in FRAMEWORKS if n not in SEED_FRAMEWORKS)


@dataclass(frozen=True)
class Option:
    """One option of a scheduler or searcher: spec key (camelCase) -> Ray keyword argument."""

    arg: str
    kind: str  # "int" | "number" | "str" | "bool"
    minimum: float | None = None


@dataclass(frozen=True)
class SchedulerInfo:
    """A Ray Tune trial scheduler raydt can build."""

    name: str
    target: str  # "module:Class"
    options: dict[str, Option]
    description: str
    population_based: bool = False  # exploits other trials' checkpoints (needs restorable trials)
    #: keeps a population or brackets: every sample must exist (pending or paused) while only what fits
    #: runs, so trial creation is never capped at what fits at once
    pauses_trials: bool = False
    modules: tuple[str, ...] = ()
    extra: str = "tune"
    ranks_by_one_metric: bool = True  # compares trials on one metric: refused for a multi-objective search


@dataclass(frozen=True)
class SearcherInfo:
    """A Ray Tune search algorithm raydt can build."""

    name: str
    target: str  # "module:Class"
    options: dict[str, Option]
    description: str
    model_based: bool  # learns from results: cannot take grid dimensions, cannot be paired with PBT
    unsupported_domains: frozenset[str] = frozenset()
    seed_arg: str | None = None
    modules: tuple[str, ...] = ()
    extra: str = "tune"
    #: raydt.search: takes several objectives and an earlier search's trials (raydt builds its study)
    several_objectives: bool = False
    conditional: bool = True  # samples a choice whose values are branches with domains of their own


_TIME_ATTR = Option("time_attr", "str")  # the result field that measures progress (default training_iteration)

SCHEDULERS: dict[str, SchedulerInfo] = {
    "asha": SchedulerInfo(
        "asha",
        "ray.tune.schedulers:ASHAScheduler",
        {
            "maxT": Option("max_t", "int", 1),  # max iterations per trial (default: the epochs, else 100)
            "gracePeriod": Option("grace_period", "int", 1),  # iterations before a trial can be stopped (default 1)
            "reductionFactor": Option(
                "reduction_factor", "number", 1.01
            ),  # keep 1/reductionFactor per rung (default 4)
            "brackets": Option("brackets", "int", 1),  # number of brackets (default 1)
            "timeAttr": _TIME_ATTR,
        },
        "Asynchronous Successive Halving: stops bad trials early (the default)",
    ),
    "hyperband": SchedulerInfo(
        "hyperband",
        "ray.tune.schedulers:HyperBandScheduler",
        {
            "maxT": Option("max_t", "int", 1),  # max iterations per trial
            "reductionFactor": Option("reduction_factor", "number", 1.01),  # default 3
            "stopLastTrials": Option("stop_last_trials", "bool"),
            "timeAttr": _TIME_ATTR,
        },
        "synchronous HyperBand (pauses trials at rung boundaries; pair with timeBudgetS)",
        pauses_trials=True,
    ),
    "median": SchedulerInfo(
        "median",
        "ray.tune.schedulers:MedianStoppingRule",
        {
            "gracePeriod": Option("grace_period", "number", 0),  # time before a trial can be stopped
            "minSamplesRequired": Option("min_samples_required", "int", 1),
            "minTimeSlice": Option("min_time_slice", "number", 0),
            "hardStop": Option("hard_stop", "bool"),
            "timeAttr": _TIME_ATTR,
        },
        "stops a trial whose best result is below the median of the others at the same point",
    ),
    "pbt": SchedulerInfo(
        "pbt",
        "ray.tune.schedulers:PopulationBasedTraining",
        {
            "perturbationInterval": Option("perturbation_interval", "number", 1),  # iterations between exploits
            "quantileFraction": Option("quantile_fraction", "number", 0),  # bottom fraction that copies the top
            "resampleProbability": Option("resample_probability", "number", 0),
            "burnInPeriod": Option("burn_in_period", "number", 0),
            "timeAttr": _TIME_ATTR,
        },
        "Population Based Training: bad trials copy good trials' checkpoints and mutate hyperparameters",
        population_based=True,
        pauses_trials=True,
    ),
    "pb2": SchedulerInfo(
        "pb2",
        "ray.tune.schedulers.pb2:PB2",
        {
            "perturbationInterval": Option("perturbation_interval", "number", 1),
            "quantileFraction": Option("quantile_fraction", "number", 0),
            "timeAttr": _TIME_ATTR,
        },
        "PBT guided by a Gaussian-process bandit (numeric domains with min/max only)",
        population_based=True,
        pauses_trials=True,
        modules=("GPy",),
        extra="pb2",
    ),
    "fifo": SchedulerInfo(
        "fifo", "ray.tune.schedulers:FIFOScheduler", {}, "runs every trial to its end", ranks_by_one_metric=False
    ),
}

_MODEL_UNSUPPORTED = frozenset({"grid"})

SEARCHERS: dict[str, SearcherInfo] = {
    "optuna": SearcherInfo(
        "optuna",
        "ray.tune.search.optuna:OptunaSearch",
        {},
        "Optuna's TPE sampler (the default; the one for several objectives and warm starts)",
        model_based=True,
        unsupported_domains=_MODEL_UNSUPPORTED | {"normal", "qnormal"},
        seed_arg="seed",
        modules=("optuna",),
        several_objectives=True,
    ),
    "hyperopt": SearcherInfo(
        "hyperopt",
        "ray.tune.search.hyperopt:HyperOptSearch",
        {"nInitialPoints": Option("n_initial_points", "int", 1)},  # random trials before TPE starts (default 20)
        "HyperOpt's TPE",
        model_based=True,
        unsupported_domains=_MODEL_UNSUPPORTED,
        seed_arg="random_state_seed",
        modules=("hyperopt",),
    ),
    "random": SearcherInfo(
        "random",
        "ray.tune.search:BasicVariantGenerator",
        {},
        "Ray's variant generator: random sampling, and grid values expanded as a grid",
        model_based=False,
        seed_arg="random_state",
    ),
    "bohb": SearcherInfo(
        "bohb",
        "ray.tune.search.bohb:TuneBOHB",
        {},
        "BOHB (Bayesian optimisation + HyperBand); uses its own HyperBand scheduler",
        model_based=True,
        unsupported_domains=_MODEL_UNSUPPORTED | {"normal", "qnormal"},
        seed_arg="seed",
        modules=("hpbandster", "ConfigSpace"),
        extra="bohb",
        conditional=False,
    ),
}

DEFAULT_SCHEDULER = "asha"
DEFAULT_SEARCHER = "optuna"


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
