"""Rules of ``mode: tune``: search space, scheduler and searcher options, and the pairs that clash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from raydt import space, trainer_ref
from raydt.errors import SpecIssue
from raydt.registry import (
    DEFAULT_SCHEDULER,
    FRAMEWORKS,
    SCHEDULERS,
    SEARCHERS,
    FrameworkInfo,
    Option,
)
from raydt.spec.model import Spec


def check(spec: Spec, base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    """Every tune-mode problem of ``spec`` (its tuneConfig is present)."""
    from raydt.spec.checks import builtin_metric, closest

    tc = spec.tune_config
    assert tc is not None
    issues = space.check(tc.search_space)
    sched = tc.scheduler
    if sched is not None and sched not in SCHEDULERS:
        issues.append(SpecIssue("tuneConfig.scheduler", "unknown scheduler", sched, closest(sched, list(SCHEDULERS))))
        sched = None
    algo = tc.search_algorithm
    if algo is not None and algo not in SEARCHERS:
        issues.append(
            SpecIssue("tuneConfig.searchAlgorithm", "unknown search algorithm", algo, closest(algo, list(SEARCHERS)))
        )
        algo = None
    sched_options = SCHEDULERS[sched or DEFAULT_SCHEDULER].options
    issues += check_options(
        tc.scheduler_config, sched_options, "tuneConfig.schedulerConfig", sched or DEFAULT_SCHEDULER
    )
    if algo is not None:
        issues += check_options(
            tc.search_algorithm_config, SEARCHERS[algo].options, "tuneConfig.searchAlgorithmConfig", algo
        )
    elif tc.search_algorithm_config:
        issues.append(
            SpecIssue(
                "tuneConfig.searchAlgorithmConfig", "needs tuneConfig.searchAlgorithm", None, "Name the searcher."
            )
        )
    if issues:
        return issues
    issues += _check_pairs(spec, sched, algo, base_dirs)
    info = FRAMEWORKS.get(spec.train_config.framework)
    if info is not None and spec.train_config.trainer_path is None:
        issues += _check_builtin_space(info, tc.search_space, spec.train_config.train_loop_config)
        issues += builtin_metric(info, tc.metric, "tuneConfig.metric")
    return issues


def check_options(given: dict[str, Any], options: dict[str, Option], path: str, owner: str) -> list[SpecIssue]:
    """Options must be known to ``owner`` and of the right type."""
    from raydt.spec.checks import closest

    issues: list[SpecIssue] = []
    for key, value in given.items():
        opt = options.get(key)
        if opt is None:
            valid = list(options) or ["(none: it takes no options)"]
            issues.append(SpecIssue(f"{path}.{key}", f"is not an option of '{owner}'", key, closest(key, valid)))
            continue
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "str": isinstance(value, str) and bool(value),
            "bool": isinstance(value, bool),
        }[opt.kind]
        if not ok:
            issues.append(SpecIssue(f"{path}.{key}", f"must be {'a' if opt.kind != 'int' else 'an'} {opt.kind}", value))
        elif opt.minimum is not None and value < opt.minimum:
            issues.append(SpecIssue(f"{path}.{key}", f"must be >= {opt.minimum:g}", value))
    return issues


def _check_pairs(spec: Spec, sched: str | None, algo: str | None, base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    tc = spec.tune_config
    assert tc is not None
    issues: list[SpecIssue] = []
    types = space.domain_types(tc.search_space)
    if sched is not None and SCHEDULERS[sched].population_based:
        if algo is not None and SEARCHERS[algo].model_based:
            issues.append(
                SpecIssue(
                    "tuneConfig.searchAlgorithm",
                    f"'{algo}' cannot be paired with '{sched}' (PBT mutates configs a model-based searcher proposed)",
                    algo,
                    "Use searchAlgorithm 'random' (or leave it out) with pbt/pb2.",
                )
            )
        if not space.mutations(tc.search_space):
            issues.append(
                SpecIssue("tuneConfig.searchSpace", f"'{sched}' needs at least one domain to mutate", tc.search_space)
            )
        if sched == "pb2" and not space.numeric_bounds(tc.search_space):
            issues.append(
                SpecIssue("tuneConfig.searchSpace", "'pb2' needs numeric domains with min/max", tc.search_space)
            )
        if _workers(spec) > 1:
            issues.append(
                SpecIssue(
                    "tuneConfig.scheduler",
                    f"'{sched}' needs trials that restore from another trial's checkpoint, "
                    "which raydt supports for single-worker trials",
                    sched,
                    "Set config.numWorkers to 1 with pbt/pb2, or use asha.",
                )
            )
    if algo is not None:
        bad = sorted(types & SEARCHERS[algo].unsupported_domains)
        for kind in bad:
            keys = [k for k, v in space.walk(tc.search_space) if space.is_domain(v) and v["type"] == kind]
            fix = (
                "Use searchAlgorithm 'random' for grid values (Ray's variant generator), or use 'choice'."
                if kind == "grid"
                else "Use searchAlgorithm 'hyperopt' or 'random' for normal domains."
            )
            issues.append(
                SpecIssue(f"tuneConfig.searchSpace.{keys[0]}", f"'{algo}' cannot sample '{kind}' domains", kind, fix)
            )
    if algo == "bohb" and sched not in (None, "hyperband"):
        issues.append(
            SpecIssue(
                "tuneConfig.scheduler",
                "'bohb' runs with its own HyperBand scheduler",
                sched,
                "Leave tuneConfig.scheduler out (or set 'hyperband') with bohb.",
            )
        )
    path = spec.train_config.trainer_path
    if path is not None and kind_of(spec, base_dirs) == "tune" and _workers(spec) > 1:
        issues.append(
            SpecIssue(
                "config.numWorkers",
                "a Ray Tune function trainable runs in one process per trial",
                _workers(spec),
                "Set config.numWorkers to 1, or write a Ray Train loop (ray.train.report) for distributed trials.",
            )
        )
    return issues


def kind_of(spec: Spec, base_dirs: tuple[Path, ...]) -> str:
    """'train' or 'tune': how the trainer reports (trainConfig.trainerKind, else detected)."""
    tc = spec.train_config
    if tc.trainer_kind != "auto" or tc.trainer_path is None:
        return "train" if tc.trainer_kind == "auto" else tc.trainer_kind
    ref = trainer_ref.parse(tc.trainer_path, base_dirs)
    return trainer_ref.detect_kind(ref) if isinstance(ref, trainer_ref.TrainerRef) else "train"


def _workers(spec: Spec) -> int:
    given = spec.train_config.scaling_config.get("numWorkers", spec.config.num_workers)
    return given if isinstance(given, int) else given.max


def _check_builtin_space(info: FrameworkInfo, search: dict[str, Any], fixed: dict[str, Any]) -> list[SpecIssue]:
    from raydt.spec.checks import check_param_value, closest

    issues: list[SpecIssue] = []
    valid = list(info.builtin_params) + list(info.param_aliases)
    for key, value in search.items():
        path = f"tuneConfig.searchSpace.{key}"
        name = info.param_aliases.get(key, key)
        if name not in info.builtin_params:
            issues.append(
                SpecIssue(
                    path, f"is not a hyperparameter of the built-in {info.name} trainer", key, closest(key, valid)
                )
            )
            continue
        if fixed and (name in fixed or any(info.param_aliases.get(k) == name for k in fixed)):
            issues.append(SpecIssue(path, "is also fixed in trainConfig.trainLoopConfig", key, "Give it in one place."))
        want_int = isinstance(info.builtin_params[name], int)
        if not space.is_domain(value):
            issues += check_param_value(info, name, value, path)
        elif value["type"] in ("choice", "grid"):
            for i, v in enumerate(value["values"]):
                issues += check_param_value(info, name, v, f"{path}.values[{i}]")
        elif want_int and space.DOMAINS[value["type"]].kind != "int":
            issues.append(
                SpecIssue(
                    f"{path}.type",
                    f"'{name}' is an integer hyperparameter",
                    value["type"],
                    "Use randint, qrandint, lograndint or choice.",
                )
            )
        elif "min" in value and value["min"] <= 0:
            issues.append(SpecIssue(f"{path}.min", f"'{name}' must stay > 0", value["min"]))
    return issues
