"""Spec -> TunePlan: the per-trial train plan, the parsed search space, and the scheduler/searcher choice."""

from __future__ import annotations

from typing import Any

from raydt import space, trainer_ref
from raydt.plan.resolve import train
from raydt.plan.search import settings
from raydt.plan.types import DEFAULT_NUM_SAMPLES, TrainPlan, TunePlan
from raydt.registry import FrameworkInfo
from raydt.spec.loader import LoadedSpec


def tune(loaded: LoadedSpec) -> TunePlan:
    """The plan of a ``mode: tune`` run (the spec is validated)."""
    from raydt.registry import SCHEDULERS, SEARCHERS, choose

    spec = loaded.spec
    tc = spec.tune_config
    assert tc is not None
    search = space.parse(tc.search_space)
    base = train(loaded)
    info = base.framework
    fixed = base.loop_config
    if base.trainer is None:  # built-in: searched keys are not fixed
        searched = {info.param_aliases.get(k, k) for k in search.members}
        fixed = {k: v for k, v in fixed.items() if k not in searched}
    search_settings = settings(tc, info.default_metric, info.default_mode, loaded.base_dirs)
    objectives = search_settings.objectives
    base = _replace(base, loop_config=fixed, metric=objectives[0].metric, metric_mode=objectives[0].mode)
    types = search.domain_types()
    chosen = choose(
        tc.scheduler,
        tc.search_algorithm,
        objectives=len(objectives),
        warm_start=tc.warm_start is not None,
        domain_types=types,
    )
    sched, algo = chosen.scheduler, chosen.searcher
    if SCHEDULERS[sched].population_based and "num_to_keep" not in spec.run_config.checkpoint.model_fields_set:
        # a lagging trial may clone any checkpoint a leader reported: Ray must not delete them meanwhile
        base = _replace(base, num_to_keep=None)
    options = {SCHEDULERS[sched].options[k].arg: v for k, v in tc.scheduler_config.items()}
    epochs = base.loop_config.get("epochs") if base.trainer is not None else _epochs(info, search, fixed)
    epochs_arg = SCHEDULERS[sched].epochs_arg  # e.g. ASHA's max_t follows the epochs
    if epochs_arg is not None and epochs_arg not in options and isinstance(epochs, int):
        options[epochs_arg] = epochs
    searcher_options = {SEARCHERS[algo].options[k].arg: v for k, v in tc.search_algorithm_config.items()}
    return TunePlan(
        train=base,
        kind=trainer_ref.kind_of(spec.train_config.trainer_path, spec.train_config.trainer_kind, loaded.base_dirs),
        search_space=search,
        num_samples=tc.num_samples or (1 if "grid" in types else DEFAULT_NUM_SAMPLES),
        scheduler=sched,
        scheduler_options=options,
        searcher=algo,
        searcher_options=searcher_options,
        choice_reason=chosen.reason,
        max_concurrent=tc.max_concurrent_trials,
        time_budget_s=tc.time_budget_s,
        stop_at=tc.stop_at,
        seed=tc.seed,
        max_failures_per_trial=tc.max_failures_per_trial,
        reuse_actors=tc.reuse_actors,
        search=search_settings,
    )


def _epochs(info: FrameworkInfo, search: space.Group, fixed: dict[str, Any]) -> int | None:
    """Epochs of a built-in trainer when fixed (a searched epochs count has no single value)."""
    if any(info.param_aliases.get(k, k) == info.epochs_param for k in search.members):
        return None
    value = fixed.get(info.epochs_param)
    return value if isinstance(value, int) else None


def _replace(p: TrainPlan, **changes: Any) -> TrainPlan:
    from dataclasses import replace

    return replace(p, **changes)
