"""Rules of ``mode: tune``: search space, scheduler and searcher options, and the pairs that clash.

Every rule runs even when another one failed: a broken domain is left out of the rules that would have to
read it, and while the scheduler (or searcher) is unknown, the rules that would object to the one most
likely meant wait for it (``spec.waiting``). Never imports Ray.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from raydt import trainer_ref
from raydt.errors import SpecIssue
from raydt.registry import DEFAULT_SCHEDULER, SCHEDULERS, SEARCHERS, Option
from raydt.space import Group
from raydt.spec import search_checks, space_checks
from raydt.spec.model import Spec
from raydt.spec.trainer_checks import builtin_info, builtin_metric, check_builtin_space
from raydt.spec.waiting import Waiting
from raydt.suggest import close_match, closest

SCHED = "tuneConfig.scheduler"
ALGO = "tuneConfig.searchAlgorithm"
SPACE = "tuneConfig.searchSpace"
KEEP = "runConfig.checkpoint.numToKeep"


def check(spec: Spec, base_dirs: tuple[Path, ...], wait: Waiting | None = None) -> list[SpecIssue]:
    """Every tune-mode problem of ``spec`` (its tuneConfig is present)."""
    wait = wait if wait is not None else Waiting()
    tc = spec.tune_config
    assert tc is not None
    tree, issues = space_checks.parse(tc.search_space)  # parsed once: every rule below reads the tree
    sched = _known(tc.scheduler, SCHEDULERS, SCHED, "unknown scheduler", issues, wait)
    algo = _known(tc.search_algorithm, SEARCHERS, ALGO, "unknown search algorithm", issues, wait)
    if tc.scheduler_config and not wait.waits("tuneConfig.schedulerConfig", SCHED):
        owner = sched or DEFAULT_SCHEDULER
        issues += check_options(tc.scheduler_config, SCHEDULERS[owner].options, "tuneConfig.schedulerConfig", owner)
    if tc.search_algorithm_config and not wait.waits("tuneConfig.searchAlgorithmConfig", ALGO):
        if algo is not None:
            config = tc.search_algorithm_config
            issues += check_options(config, SEARCHERS[algo].options, "tuneConfig.searchAlgorithmConfig", algo)
        else:
            issues.append(
                SpecIssue(
                    "tuneConfig.searchAlgorithmConfig", "needs tuneConfig.searchAlgorithm", None, "Name the searcher."
                )
            )
    issues += _nothing_to_search(spec, wait)
    issues += _check_pairs(spec, tree, sched, algo, wait)
    issues += _check_function_trainable(spec, base_dirs, wait)
    issues += search_checks.check(tc, tree, sched, algo, base_dirs)
    given = [path for path, value in ((SPACE, tc.search_space), ("tuneConfig.metric", tc.metric)) if value]
    info = builtin_info(spec, wait, *given)
    if info is not None:
        issues += check_builtin_space(info, tree, spec.train_config.train_loop_config)
        issues += _builtin_metrics(info, spec)
    return issues


def _searches_something(tc: Any) -> bool:
    """A search space, given points or a warm start: something for the trials to differ by."""
    return bool(tc.search_space or tc.points_to_evaluate or tc.warm_start is not None)


def _nothing_to_search(spec: Spec, wait: Waiting) -> list[SpecIssue]:
    """A search needs something to search: a search space or a warm start (given points name the space's keys:
    ``search_checks`` refuses them without one). Without it every trial runs the same config and ``bestConfig``
    is ``{}``, which no one means to ask for."""
    tc = spec.tune_config
    assert tc is not None
    if wait.waits(SPACE, SPACE, "tuneConfig.pointsToEvaluate", "tuneConfig.warmStart"):
        return []
    if _searches_something(tc):
        return []
    return [
        SpecIssue(
            SPACE,
            "is required: without it (or tuneConfig.warmStart) every trial of the search runs the same config",
            None,
            "Add the hyperparameters to search, e.g. searchSpace: {lr: {type: loguniform, min: 0.0001, max: 0.1}} "
            "(`raydt schema input` lists the domain types); or use mode: train for a single run.",
        )
    ]


def _builtin_metrics(info: Any, spec: Spec) -> list[SpecIssue]:
    """Objectives and constrained metrics a built-in trainer must report."""
    tc = spec.tune_config
    assert tc is not None
    if not isinstance(tc.metric, list):
        issues = builtin_metric(info, tc.metric, "tuneConfig.metric")
    else:
        issues = [i for n, m in enumerate(tc.metric) for i in builtin_metric(info, m, f"tuneConfig.metric[{n}]")]
    for n, c in enumerate(tc.constraints):
        issues += builtin_metric(info, c.metric, f"tuneConfig.constraints[{n}].metric")
    return issues


def _known(
    name: str | None, registry: Mapping[str, object], path: str, rule: str, issues: list[SpecIssue], wait: Waiting
) -> str | None:
    """``name`` if the registry has it (or it is not given); an unknown one is reported and blocks ``path``."""
    if name is None or name in registry:
        return name
    issues.append(SpecIssue(path, rule, name, closest(name, list(registry))))
    wait.block(path)
    return None


def check_options(given: dict[str, Any], options: dict[str, Option], path: str, owner: str) -> list[SpecIssue]:
    """Options must be known to ``owner`` and of the right type."""
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


def _meant(name: str | None, registry: Mapping[str, object]) -> list[str]:
    """What an unusable ``name`` most likely stands for: its close match, else every entry."""
    match = close_match(name, list(registry)) if isinstance(name, str) else None
    return [match] if match else list(registry)


def _check_pairs(spec: Spec, tree: Group, sched: str | None, algo: str | None, wait: Waiting) -> list[SpecIssue]:
    tc = spec.tune_config
    assert tc is not None
    issues: list[SpecIssue] = []
    if sched is not None:
        issues += _scheduler_rules(spec, tree, sched, wait)
    elif wait.is_blocked(SCHED):  # the rules that would object to the scheduler meant wait for it
        for meant in _meant(tc.scheduler, SCHEDULERS):
            for issue in _scheduler_rules(spec, tree, meant, wait) + (_pair_rules(algo, meant) if algo else []):
                wait.waits(issue.path, SCHED)
    if algo is not None:
        issues += _domain_rules(tree, algo) + _pair_rules(algo, sched)
    elif wait.is_blocked(ALGO):
        for meant in _meant(tc.search_algorithm, SEARCHERS):
            for issue in _domain_rules(tree, meant) + _pair_rules(meant, sched):
                wait.waits(issue.path, ALGO)
    return issues


def _scheduler_rules(spec: Spec, tree: Group, sched: str, wait: Waiting) -> list[SpecIssue]:
    """What a population-based scheduler needs of the space, the trials and the checkpoints."""
    tc = spec.tune_config
    assert tc is not None
    if not SCHEDULERS[sched].population_based:
        return []
    issues: list[SpecIssue] = []
    search_space_known = not wait.waits(SPACE, SPACE)
    nothing = not _searches_something(tc)  # _nothing_to_search says so
    if search_space_known and not tree.has_mutable and not nothing:
        issues.append(SpecIssue(SPACE, f"'{sched}' needs at least one domain to mutate", tc.search_space))
    if search_space_known and SCHEDULERS[sched].needs_bounds and not tree.has_bounded:
        issues.append(SpecIssue(SPACE, f"'{sched}' needs numeric domains with min/max", tc.search_space))
    workers = _workers(spec, wait, SCHED)
    if workers is not None and workers > 1:
        issues.append(
            SpecIssue(
                SCHED,
                f"'{sched}' needs trials that restore from another trial's checkpoint, "
                "which raydt supports for single-worker trials",
                sched,
                "Set config.numWorkers to 1 with pbt/pb2, or use asha.",
            )
        )
    checkpoint = spec.run_config.checkpoint
    if "num_to_keep" in checkpoint.model_fields_set and checkpoint.num_to_keep is not None:
        issues.append(
            SpecIssue(
                KEEP,
                f"cannot be set with scheduler '{sched}': its trials restore and clone other trials' checkpoints, "
                "which Ray would delete once more than numToKeep exist",
                checkpoint.num_to_keep,
                f"Leave it out: raydt keeps every checkpoint under {sched} (null, keep all, is also accepted).",
            )
        )
    else:
        wait.waits(KEEP, KEEP)  # a misspelt numToKeep: whether it may be set depends on it
    return issues


def _pair_rules(algo: str, sched: str | None) -> list[SpecIssue]:
    """Schedulers a searcher cannot run with (``sched`` None: the default)."""
    issues: list[SpecIssue] = []
    if sched is not None and SCHEDULERS[sched].population_based and SEARCHERS[algo].model_based:
        issues.append(
            SpecIssue(
                ALGO,
                f"'{algo}' cannot be paired with '{sched}' (PBT mutates configs a model-based searcher proposed)",
                algo,
                "Use searchAlgorithm 'random' (or leave it out) with pbt/pb2.",
            )
        )
    own = SEARCHERS[algo].own_scheduler
    if own is not None and sched not in (None, own.name):
        issues.append(
            SpecIssue(
                SCHED,
                f"'{algo}' runs with its own {own.label} scheduler",
                sched,
                f"Leave tuneConfig.scheduler out (or set '{own.name}') with {algo}.",
            )
        )
    return issues


def _domain_rules(tree: Group, algo: str) -> list[SpecIssue]:
    """Domain types the searcher cannot sample."""
    issues: list[SpecIssue] = []
    for kind in sorted(tree.domain_types() & SEARCHERS[algo].unsupported_domains):
        keys = [key for key, node in tree.domains() if node.type == kind]
        fix = (
            "Use searchAlgorithm 'random' for grid values (Ray's variant generator), or use 'choice'."
            if kind == "grid"
            else "Use searchAlgorithm 'hyperopt' or 'random' for normal domains."
        )
        issues.append(SpecIssue(f"{SPACE}.{keys[0]}", f"'{algo}' cannot sample '{kind}' domains", kind, fix))
    return issues


def _check_function_trainable(spec: Spec, base_dirs: tuple[Path, ...], wait: Waiting) -> list[SpecIssue]:
    """A Ray Tune function trainable runs in one process: it cannot have several workers."""
    path, kind, count = "trainConfig.trainerPath", "trainConfig.trainerKind", worker_field(spec, wait)
    unknown = [field for field in (path, kind, count) if wait.is_blocked(field)]
    workers = None if count in unknown else worker_count(spec)
    if (workers is not None and workers <= 1) or (path not in unknown and spec.train_config.trainer_path is None):
        return []
    if path not in unknown and kind not in unknown and kind_of(spec, base_dirs) != "tune":
        return []
    if unknown:
        wait.waits("config.numWorkers", *unknown)
        return []
    return [
        SpecIssue(
            "config.numWorkers",
            "a Ray Tune function trainable runs in one process per trial",
            workers,
            "Set config.numWorkers to 1, or write a Ray Train loop (ray.train.report) for distributed trials.",
        )
    ]


def kind_of(spec: Spec, base_dirs: tuple[Path, ...]) -> str:
    """'train' or 'tune': how the trainer reports (``trainer_ref.kind_of``: the plan asks it the same way)."""
    return trainer_ref.kind_of(spec.train_config.trainer_path, spec.train_config.trainer_kind, base_dirs)


SCALING_WORKERS = "trainConfig.scalingConfig.numWorkers"


def worker_field(spec: Spec, wait: Waiting) -> str:
    """Where the worker count is given: trainConfig.scalingConfig (also when refused there), else config."""
    given = spec.train_config.scaling_config.num_workers is not None or wait.is_blocked(SCALING_WORKERS)
    return SCALING_WORKERS if given else "config.numWorkers"


def worker_count(spec: Spec) -> int:
    """Workers per trial (the most of an elastic range)."""
    given = spec.train_config.scaling_config.num_workers
    workers = spec.config.num_workers if given is None else given
    return workers if isinstance(workers, int) else workers.max


def _workers(spec: Spec, wait: Waiting, dependant: str) -> int | None:
    """Workers per trial; None while their value is broken (``dependant`` then waits for it)."""
    return None if wait.waits(dependant, worker_field(spec, wait)) else worker_count(spec)
