"""Hyperparameter importance: Optuna's fANOVA evaluator over the finished trials of a search.

The trials are handed to an in-memory Optuna study (``optuna.trial.create_trial``), whatever searcher ran them.
Each searched key becomes an Optuna distribution: numbers a float or int range over the values seen (log-scaled
where the spec's domain is), anything else a categorical one. A key that never varied carries no information.
"""

from __future__ import annotations

import logging
from typing import Any

from raydt.report.load import Experiment, finite

LOG_TYPES = frozenset({"loguniform", "qloguniform", "lograndint", "qlograndint"})
#: fANOVA's forest grows with the trials: it is fitted on the first this many finished trials
MAX_TRIALS = 2000


def log_keys(spec: dict[str, Any]) -> set[str]:
    """Searched keys (dotted) that the spec samples on a log scale."""
    found: set[str] = set()

    def walk(node: Any, prefix: str) -> None:
        if not isinstance(node, dict):
            return
        if isinstance(node.get("type"), str):
            if node["type"] in LOG_TYPES:
                found.add(prefix)
            return
        for key, value in node.items():
            walk(value, f"{prefix}.{key}" if prefix else str(key))

    walk((spec.get("tuneConfig") or {}).get("searchSpace") or {}, "")
    return found


def finished(exp: Experiment) -> list[tuple[dict[str, Any], float]]:
    """(config, value) of every trial that did not fail and reported the metric: its best value."""
    pick = min if exp.metric_mode == "min" else max
    out = []
    for trial in exp.trials:
        values = trial.values(exp.metric)
        if trial.status != "ERROR" and values:
            out.append((trial.config, pick(values)))
    return out[:MAX_TRIALS]


def searched_keys(exp: Experiment, rows: list[tuple[dict[str, Any], float]]) -> list[str]:
    """Keys whose values differ across ``rows`` (constants and fixed keys are left out)."""
    keys = sorted({k for config, _ in rows for k in config})
    return [k for k in keys if len({repr(config.get(k)) for config, _ in rows}) > 1]


def importances(exp: Experiment) -> tuple[dict[str, float], str | None]:
    """({key: importance} summing to 1, a note or None) or ({}, why there is none).

    A conditional space's branch keys are absent from the other branches' trials; like Optuna's own evaluators
    (which read the intersection of the trials' spaces), the importance is computed over the keys every trial
    has, and the note names the keys left out."""
    rows = finished(exp)
    varied = searched_keys(exp, rows)
    keys = [k for k in varied if all(k in config for config, _ in rows)]
    branch = [k for k in varied if k not in keys]
    note = (
        f"keys of conditional branches (absent from some trials) are left out of the importance: {', '.join(branch)}"
        if branch
        else None
    )
    if len(rows) < 3:
        return {}, f"needs at least 3 finished trials with '{exp.metric}' (got {len(rows)})"
    if not keys:
        return {}, f"no hyperparameter that every trial has took more than one value{'; ' + note if note else ''}"
    try:
        import optuna
    except ImportError:
        return {}, "optuna is not installed (pip install 'ray-distributed-trainer[report]')"
    optuna.logging.set_verbosity(logging.WARNING)
    logs = log_keys(exp.spec)
    dists = {k: _distribution(optuna, [c.get(k) for c, _ in rows], k in logs) for k in keys}
    study = optuna.create_study(direction="minimize" if exp.metric_mode == "min" else "maximize")
    for config, value in rows:
        params = {k: _param(config.get(k), dists[k]) for k in keys}
        study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=value))
    # Optuna's defaults (64 trees, depth 64) took 14 s on 1,000 trials here; these take 1 s and rank alike
    evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=32, max_depth=10, seed=0)
    try:
        found = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError) as exc:
        return {}, f"Optuna's fANOVA evaluator refused the trials: {exc}"
    return {k: float(v) for k, v in found.items()}, note


def _distribution(optuna: Any, values: list[Any], log: bool) -> Any:
    numbers = [v for v in values if finite(v)]
    if len(numbers) == len(values):
        low, high = min(numbers), max(numbers)
        log = log and low > 0
        if all(isinstance(v, int) for v in numbers):
            return optuna.distributions.IntDistribution(int(low), int(high), log=log)
        return optuna.distributions.FloatDistribution(float(low), float(high), log=log)
    return optuna.distributions.CategoricalDistribution(sorted({_category(v) for v in values}, key=_order))


def _order(value: Any) -> tuple[int, Any]:
    """Categories of mixed types in a stable order (numbers, then strings, then the rest): ``None`` and a string
    do not compare with a number."""
    if isinstance(value, int | float):
        return (0, value)
    return (1, value) if isinstance(value, str) else (2, repr(value))


def _category(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | float | str) else repr(value)


def _param(value: Any, dist: Any) -> Any:
    if type(dist).__name__ == "CategoricalDistribution":
        return _category(value)
    return int(value) if type(dist).__name__ == "IntDistribution" else float(value)
