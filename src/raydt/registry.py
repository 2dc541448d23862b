"""Registries: the single source of truth that validation, ``raydt schema``, the CLI and docs read.

Nothing here imports Ray or an ML framework: each entry names its adapter by dotted path and is
imported only when a run needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MetricMode = Literal["min", "max"]

#: The frameworks the seed's input schema names; `trainConfig.framework` accepts exactly these.
SEED_FRAMEWORKS: tuple[str, ...] = ("pytorch", "tensorflow", "xgboost")


@dataclass(frozen=True)
class FrameworkInfo:
    """What raydt knows about a framework before importing anything heavy."""

    name: str
    adapter: str  # "module:Class" implementing raydt.frameworks.base.FrameworkAdapter
    extra: str  # pip extra that installs the framework: ray-distributed-trainer[<extra>]
    modules: tuple[str, ...]  # importable modules the adapter needs
    default_metric: str
    default_mode: MetricMode
    builtin_metrics: tuple[str, ...]  # metrics the built-in default trainer reports each epoch
    builtin_params: dict[str, object] = field(default_factory=dict)  # hyperparameters and defaults
    param_aliases: dict[str, str] = field(default_factory=dict)  # snake_case alias -> camelCase
    param_max: dict[str, float] = field(default_factory=dict)  # inclusive upper bounds of some params
    epochs_param: str = "epochs"  # what trainConfig.epochs sets (and ASHA's default maxT follows)
    supports_gpu: bool = True
    description: str = ""


FRAMEWORKS: dict[str, FrameworkInfo] = {
    "pytorch": FrameworkInfo(
        name="pytorch",
        adapter="raydt.frameworks.pytorch:TorchAdapter",
        extra="pytorch",
        modules=("torch",),
        default_metric="val_loss",
        default_mode="min",
        builtin_metrics=("train_loss", "val_loss", "val_accuracy", "epoch"),
        builtin_params={"lr": 0.01, "batchSize": 32, "epochs": 5, "hiddenSize": 64},
        param_aliases={"batch_size": "batchSize", "hidden_size": "hiddenSize", "learning_rate": "lr"},
        description="Ray Train TorchTrainer (DDP); built-in: MLP on scikit-learn's digits",
    ),
    "xgboost": FrameworkInfo(
        name="xgboost",
        adapter="raydt.frameworks.xgboost:XGBoostAdapter",
        extra="xgboost",
        modules=("xgboost",),
        default_metric="val_logloss",
        default_mode="min",
        builtin_metrics=("val_logloss", "val_error", "train_logloss", "train_error"),
        builtin_params={"numBoostRound": 50, "maxDepth": 4, "eta": 0.1, "subsample": 0.9, "minChildWeight": 1.0},
        param_aliases={
            "num_boost_round": "numBoostRound",
            "max_depth": "maxDepth",
            "learning_rate": "eta",
            "min_child_weight": "minChildWeight",
        },
        param_max={"subsample": 1.0, "eta": 1.0},
        epochs_param="numBoostRound",
        description="Ray Train XGBoostTrainer (data-parallel); built-in: breast cancer classifier",
    ),
    "tensorflow": FrameworkInfo(
        name="tensorflow",
        adapter="raydt.frameworks.tensorflow:TensorflowAdapter",
        extra="tensorflow",
        modules=("tensorflow", "tf_keras"),
        default_metric="val_loss",
        default_mode="min",
        builtin_metrics=("loss", "accuracy", "val_loss", "val_accuracy", "epoch"),
        builtin_params={"lr": 0.005, "batchSize": 32, "epochs": 5, "hiddenSize": 64},
        param_aliases={"batch_size": "batchSize", "hidden_size": "hiddenSize", "learning_rate": "lr"},
        description="Ray Train TensorflowTrainer (MultiWorkerMirroredStrategy, legacy Keras); built-in: MLP on digits",
    ),
}


def framework(name: str) -> FrameworkInfo:
    """The registry entry for ``name`` (callers validate the name first)."""
    return FRAMEWORKS[name]


@dataclass(frozen=True)
class Option:
    """One option of a scheduler or searcher: spec key (camelCase) -> Ray keyword argument."""

    arg: str
    kind: str  # "int" | "number" | "str" | "bool"
    minimum: float | None = None
    help: str = ""


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


_TIME_ATTR = Option("time_attr", "str", help="result field that measures progress (default training_iteration)")

SCHEDULERS: dict[str, SchedulerInfo] = {
    "asha": SchedulerInfo(
        "asha",
        "ray.tune.schedulers:ASHAScheduler",
        {
            "maxT": Option("max_t", "int", 1, "max iterations per trial (default: the epochs, else 100)"),
            "gracePeriod": Option("grace_period", "int", 1, "iterations before a trial can be stopped (default 1)"),
            "reductionFactor": Option(
                "reduction_factor", "number", 1.01, "keep 1/reductionFactor per rung (default 4)"
            ),
            "brackets": Option("brackets", "int", 1, "number of brackets (default 1)"),
            "timeAttr": _TIME_ATTR,
        },
        "Asynchronous Successive Halving: stops bad trials early (the default)",
    ),
    "hyperband": SchedulerInfo(
        "hyperband",
        "ray.tune.schedulers:HyperBandScheduler",
        {
            "maxT": Option("max_t", "int", 1, "max iterations per trial"),
            "reductionFactor": Option("reduction_factor", "number", 1.01, "default 3"),
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
            "gracePeriod": Option("grace_period", "number", 0, "time before a trial can be stopped"),
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
            "perturbationInterval": Option("perturbation_interval", "number", 1, "iterations between exploits"),
            "quantileFraction": Option("quantile_fraction", "number", 0, "bottom fraction that copies the top"),
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
    "fifo": SchedulerInfo("fifo", "ray.tune.schedulers:FIFOScheduler", {}, "runs every trial to its end"),
}

_MODEL_UNSUPPORTED = frozenset({"grid"})

SEARCHERS: dict[str, SearcherInfo] = {
    "optuna": SearcherInfo(
        "optuna",
        "ray.tune.search.optuna:OptunaSearch",
        {},
        "Optuna's TPE sampler (the default)",
        model_based=True,
        unsupported_domains=_MODEL_UNSUPPORTED | {"normal", "qnormal"},
        seed_arg="seed",
        modules=("optuna",),
    ),
    "hyperopt": SearcherInfo(
        "hyperopt",
        "ray.tune.search.hyperopt:HyperOptSearch",
        {"nInitialPoints": Option("n_initial_points", "int", 1, "random trials before TPE starts (default 20)")},
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
    ),
}

DEFAULT_SCHEDULER = "asha"
DEFAULT_SEARCHER = "optuna"


@dataclass(frozen=True)
class StepInfo:
    """A ``dataConfig.preprocess`` step: its options (name -> help) and what implements it."""

    name: str
    options: dict[str, str]
    required: tuple[str, ...]
    fitted: bool  # statistics come from the training split (and are saved with the checkpoint)
    implementation: str
    description: str


_COLUMNS = "list of column names"
#: ``dataConfig.preprocess`` steps: validation, docs and the Ray Data pipeline (raydt.data.steps) read this.
STEPS: dict[str, StepInfo] = {
    "standardize": StepInfo(
        "standardize",
        {"columns": f"{_COLUMNS} (default: every numeric feature column)"},
        (),
        True,
        "ray.data.preprocessors.StandardScaler",
        "(x - mean) / std with the training split's statistics",
    ),
    "minMaxScale": StepInfo(
        "minMaxScale",
        {"columns": f"{_COLUMNS} (default: every numeric feature column)"},
        (),
        True,
        "ray.data.preprocessors.MinMaxScaler",
        "(x - min) / (max - min) with the training split's statistics",
    ),
    "oneHot": StepInfo(
        "oneHot",
        {"columns": _COLUMNS, "maxCategories": "most categories per column (rarer ones encode as all zeros)"},
        ("columns",),
        True,
        "ray.data.preprocessors.OneHotEncoder",
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
        True,
        "ray.data.preprocessors.SimpleImputer",
        "missing values -> the training split's mean / most frequent value, or a constant",
    ),
    "dropColumns": StepInfo(
        "dropColumns", {"columns": _COLUMNS}, ("columns",), False, "raydt.data.steps", "drop these columns"
    ),
    "cast": StepInfo(
        "cast",
        {"columns": _COLUMNS, "to": "float32 | float64 | int32 | int64 | string"},
        ("columns", "to"),
        False,
        "raydt.data.steps",
        "convert these columns to a type",
    ),
    "mapBatches": StepInfo(
        "mapBatches",
        {"batchSize": "rows per batch (default dataConfig.batchSize)", "concurrency": "tasks at once (default 1)"},
        (),
        False,
        "ray.data.Dataset.map_batches",
        "{mapBatches: 'file.py:function', batchSize, concurrency}: your function, pandas DataFrame in and out",
    ),
}
CAST_TYPES = ("float32", "float64", "int32", "int64", "string")
FILL_STRATEGIES = ("mean", "most_frequent", "constant")
#: Ray Data formats the built-in trainers read as tables (numpy and images go to your own trainer).
TABULAR_FORMATS = ("csv", "parquet", "json")
