"""Rules of ``raydt.search``'s keys: several objectives (metric/mode lists, objectiveWeights), constraints,
warmStart, pointsToEvaluate and conditional spaces, each with the searchers and schedulers that can run them.
Never imports Ray.
"""

from __future__ import annotations

from pathlib import Path

from raydt import paths
from raydt.errors import SpecIssue
from raydt.registry import SCHEDULERS, SEARCHERS
from raydt.search import points, warm
from raydt.space import Group, Refused
from raydt.spec.model import TuneConfig

MODEL_SEARCHER = next(name for name, info in SEARCHERS.items() if info.several_objectives)


def needs_optuna(tc: TuneConfig) -> str:
    """Why the search needs raydt's Optuna searcher ('' when any searcher will do)."""
    if isinstance(tc.metric, list) and len(tc.metric) > 1:
        return "a multi-objective search"
    return "a warm-started search" if tc.warm_start is not None else ""


def check(
    tc: TuneConfig, tree: Group, sched: str | None, algo: str | None, base_dirs: tuple[Path, ...]
) -> list[SpecIssue]:
    """Every problem of the keys above (``sched``/``algo``: the names given, None when left out or unknown)."""
    issues = _objectives(tc, sched) + _constraints(tc)
    why = needs_optuna(tc)
    if why and algo is not None and not SEARCHERS[algo].several_objectives:
        hint = f"Leave tuneConfig.searchAlgorithm out (or set '{MODEL_SEARCHER}'): its study takes them."
        issues.append(SpecIssue("tuneConfig.searchAlgorithm", f"{why} runs with Optuna", algo, hint))
    if why and algo is None:
        for kind in sorted(tree.domain_types() & SEARCHERS[MODEL_SEARCHER].unsupported_domains):
            at = next(path for path, node in tree.walk() if node.type == kind)
            hint = "Use choice (for grid) or a uniform/loguniform range (for normal)."
            issues.append(
                SpecIssue(
                    f"tuneConfig.searchSpace.{at}", f"{why} runs with Optuna, which cannot sample '{kind}'", kind, hint
                )
            )
    if tc.warm_start is not None:
        issues += _warm_start(tc, sched, base_dirs)
    if tree.conditional:
        at = next(path for path, node in tree.walk() if getattr(node, "conditional", False))
        refused = [(sched, "scheduler")] if sched is not None and SCHEDULERS[sched].population_based else []
        refused += [(algo, "searchAlgorithm")] if algo is not None and not SEARCHERS[algo].conditional else []
        for name, cause in refused:
            if name is not None:
                hint = "Use optuna, hyperopt or random with asha or fifo for a conditional space."
                issues.append(
                    SpecIssue(
                        f"tuneConfig.{cause}",
                        f"'{name}' cannot search a conditional space "
                        f"(choice branches with domains, at searchSpace.{at})",
                        name,
                        hint,
                    )
                )
    if not any(isinstance(node, Refused) for _, node in tree.walk()):
        issues += _points(tc, tree)
    return issues


def _objectives(tc: TuneConfig, sched: str | None) -> list[SpecIssue]:
    metrics = tc.metric if isinstance(tc.metric, list) else None
    issues: list[SpecIssue] = []
    if isinstance(tc.mode, list) and (metrics is None or len(tc.mode) != len(metrics)):
        given = f"{len(metrics)} metric(s)" if metrics else "a single metric"
        hint = "Give one mode per metric, or one mode for all of them."
        issues.append(
            SpecIssue("tuneConfig.mode", f"must have one mode per metric of tuneConfig.metric ({given})", tc.mode, hint)
        )
    if metrics is not None:
        dupes = sorted({m for m in metrics if metrics.count(m) > 1})
        if dupes:
            issues.append(SpecIssue("tuneConfig.metric", "names a metric twice", dupes, "Give each objective once."))
    multi = metrics is not None and len(metrics) > 1
    if multi and sched is not None and SCHEDULERS[sched].ranks_by_one_metric:
        hint = "Use scheduler 'fifo' (the default with several metrics), or name one metric to stop on."
        issues.append(
            SpecIssue(
                "tuneConfig.scheduler",
                f"'{sched}' ranks trials by one metric; a multi-objective search cannot use it",
                sched,
                hint,
            )
        )
    if multi and tc.stop_at is not None:
        hint = "Use tuneConfig.stop for per-trial thresholds, or name one metric."
        issues.append(
            SpecIssue("tuneConfig.stopAt", "needs a single metric (tuneConfig.metric is a list)", tc.stop_at, hint)
        )
    weights = tc.objective_weights
    if weights is not None and (not multi or metrics is None or len(weights) != len(metrics)):
        given = f"{len(metrics)} metrics" if multi and metrics else "a single metric"
        issues.append(
            SpecIssue(
                "tuneConfig.objectiveWeights",
                f"must have one weight per metric of tuneConfig.metric ({given})",
                weights,
                "Give one weight per metric.",
            )
        )
    elif weights is not None and not any(weights):
        issues.append(SpecIssue("tuneConfig.objectiveWeights", "must have a weight above 0", weights))
    return issues


def _constraints(tc: TuneConfig) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for i, c in enumerate(tc.constraints):
        at = f"tuneConfig.constraints[{i}]"
        if c.min is None and c.max is None:
            issues.append(SpecIssue(at, "needs min and/or max", c.metric, "E.g. {metric: latency_ms, max: 50}."))
        elif c.min is not None and c.max is not None and c.min > c.max:
            issues.append(SpecIssue(f"{at}.min", "must be <= max", c.min, f"max is {c.max:g}; swap them?"))
    return issues


def _warm_start(tc: TuneConfig, sched: str | None, base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    assert tc.warm_start is not None
    at = "tuneConfig.warmStart.experimentPath"
    issues: list[SpecIssue] = []
    problem = warm.problem(str(paths.resolve(tc.warm_start.experiment_path, base_dirs)))
    if problem:
        hint = "Give the experimentPath of an earlier `mode: tune` run (its result's experimentPath)."
        issues.append(SpecIssue(at, problem, tc.warm_start.experiment_path, hint))
    if sched is not None and SCHEDULERS[sched].population_based:
        hint = "Warm starts feed Optuna's model; PBT explores by mutation (use asha or fifo)."
        issues.append(SpecIssue("tuneConfig.warmStart", f"cannot be used with '{sched}'", sched, hint))
    return issues


def _points(tc: TuneConfig, tree: Group) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for i, point in enumerate(tc.points_to_evaluate):
        at = f"tuneConfig.pointsToEvaluate[{i}]"
        mapped = points.read(tree, point)
        for path, rule, value in mapped.problems:
            issues.append(SpecIssue(f"{at}.{path}", rule, value))
        for path in mapped.dropped:
            issues.append(
                SpecIssue(
                    f"{at}.{path}",
                    "is not a key of tuneConfig.searchSpace",
                    path.split(".")[-1],
                    "Points give values of searched keys only.",
                )
            )
    return issues
