"""The schedulers and searchers a search can name: plain rows of names, options, capability flags and optional
build hooks. Validation (``spec.tune_checks``, ``spec.search_checks``), the automatic choice
(``registry.choice``), the plan and the runners (``runners.tune.algos``) read the flags; none of them compares a
name. Imports no Ray: the hooks (``runners.tune.builders``, named by string) import it when they run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Where the build hooks live (``"module:function"``, imported only by a run): ``build(plan, info)`` -> Ray's
#: scheduler, ``build(plan, info, seeded)`` -> Ray's searcher, for a row whose class and options are not enough
#: (default: the target class with the plan's options, the given points, the seed and the concurrency cap).
BUILDERS = "raydt.runners.tune.builders"


def load(target: str) -> Any:
    """The object a ``"module:Name"`` target names (a Ray class, a build hook), imported when a run needs it."""
    import importlib

    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


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
    epochs_arg: str | None = None  # the option the trainer's epochs count sets when the spec leaves it out
    needs_bounds: bool = False  # explores inside numeric min/max bounds: the space must have one such domain
    build: str | None = None  # "module:function" building Ray's object when its class and options are not enough


@dataclass(frozen=True)
class OwnScheduler:
    """The scheduler a searcher runs with: chosen when the spec names none, any other refused by validation, and
    built by the searcher's own variant of its class."""

    name: str  # the SCHEDULERS entry it stands for (whose options the spec gives)
    target: str  # "module:Class"
    label: str  # how messages name it


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
    #: raydt.search: takes several objectives and an earlier search's trials (validation refuses both elsewhere;
    #: the automatic choice picks it for them)
    several_objectives: bool = False
    conditional: bool = True  # samples a choice whose values are branches with domains of their own
    seeded_study: bool = False  # starts from the study raydt seeds before Ray starts (warm start, given points)
    define_by_run: bool = False  # samples the whole space itself: Tune's param_space is empty
    takes_cap: bool = False  # built with the concurrency cap as its max_concurrent: no ConcurrencyLimiter around it
    own_scheduler: OwnScheduler | None = None
    build: str | None = None  # "module:function" building Ray's object when its class and options are not enough


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
        epochs_arg="max_t",
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
        epochs_arg="max_t",
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
        build=f"{BUILDERS}:pbt",
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
        needs_bounds=True,
        build=f"{BUILDERS}:pb2",
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
        seeded_study=True,
        define_by_run=True,
        build=f"{BUILDERS}:optuna_search",
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
        takes_cap=True,  # a SearchGenerator: Tune's ConcurrencyLimiter would be ignored
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
        own_scheduler=OwnScheduler("hyperband", "ray.tune.schedulers:HyperBandForBOHB", "HyperBand"),
    ),
}

DEFAULT_SCHEDULER = "asha"
DEFAULT_SEARCHER = "optuna"
