"""Rules of the trainer: a user trainerPath is checked statically; the built-in trainers' hyperparameters and
metrics are known, so fixed values, searched domains and metrics are checked against them. Never imports Ray."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from raydt import trainer_ref
from raydt.errors import SpecIssue
from raydt.registry import FRAMEWORKS, FrameworkInfo
from raydt.space import Categorical, Constant, Group, Node, Refused
from raydt.spec import user_model_checks
from raydt.spec.model import Spec
from raydt.spec.waiting import Waiting
from raydt.suggest import closest

LOOP = "trainConfig.trainLoopConfig"


def builtin_info(spec: Spec, wait: Waiting, *dependants: str) -> FrameworkInfo | None:
    """The framework whose built-in trainer runs: None for a user trainer, or while the framework or the
    trainerPath is broken (each of ``dependants``, the paths of the checks that need it, then waits)."""
    waiting = [wait.waits(d, "trainConfig.framework", "trainConfig.trainerPath") for d in dependants]
    tc = spec.train_config
    user = tc.trainer_path is not None or tc.model is not None  # trainConfig.model: user_model_checks' rules
    return None if any(waiting) or user else FRAMEWORKS.get(tc.framework)


def check_trainer(spec: Spec, base_dirs: tuple[Path, ...], wait: Waiting) -> list[SpecIssue]:
    """trainConfig's trainer: the user's trainerPath, the user's model (trainConfig.model) for raydt's loop, or
    the built-in trainer's parameters and metric."""
    tc = spec.train_config
    own = framework_checks(tc.framework) if tc.trainer_path is None else None
    if own is not None:  # the framework's own rules (FrameworkInfo.spec_checks), e.g. the user's LightningModule
        return own(spec, base_dirs, wait)
    model_issues = user_model_checks.check(spec, base_dirs, wait)
    if tc.model is not None:
        return model_issues
    if tc.trainer_path is not None:
        problem = check_trainer_path(tc.trainer_path, base_dirs)
        return model_issues + ([problem] if problem else [])
    if model_issues:
        return model_issues
    if tc.framework not in FRAMEWORKS:
        supported = f"Supported now: {', '.join(FRAMEWORKS)}."
        return [
            SpecIssue("trainConfig.framework", "is not supported by this version of raydt", tc.framework, supported)
        ]
    if tc.epochs is not None:
        wait.waits("trainConfig.epochs", LOOP)  # a loop config pydantic refused cannot conflict with it yet
    given = [path for path, value in ((LOOP, tc.train_loop_config), ("trainConfig.metric", tc.metric)) if value]
    info = builtin_info(spec, wait, *given)
    if info is None or not given:
        return []
    issues = _check_builtin_params(info, tc.train_loop_config)
    if tc.epochs is not None:
        issues += _check_epochs(info, tc.train_loop_config, tc.epochs)
    return issues + builtin_metric(info, tc.metric, "trainConfig.metric")


def framework_checks(name: str) -> Callable[[Spec, tuple[Path, ...], Waiting], list[SpecIssue]] | None:
    """The rules a framework declares of its trainConfig (``FrameworkInfo.spec_checks``), None for none."""
    info = FRAMEWORKS.get(name)
    if info is None or not info.spec_checks:
        return None
    module, _, function = info.spec_checks.partition(":")
    found: Callable[[Spec, tuple[Path, ...], Waiting], list[SpecIssue]] = getattr(
        importlib.import_module(module), function
    )
    return found


def builtin_metric(info: FrameworkInfo, metric: str | None, path: str) -> list[SpecIssue]:
    """A metric asked of a built-in trainer must be one it reports."""
    if metric is None or metric in info.builtin_metrics:
        return []
    rule = f"is not reported by the built-in {info.name} trainer"
    return [SpecIssue(path, rule, metric, closest(metric, info.builtin_metrics))]


def _canonical(info: FrameworkInfo, key: str) -> str:
    return info.param_aliases.get(key, key)


def _unknown_param(info: FrameworkInfo, key: str, path: str) -> SpecIssue | None:
    """A key of trainLoopConfig or of the search space must be a hyperparameter of the built-in trainer (or an
    alias of one)."""
    if _canonical(info, key) in info.builtin_params:
        return None
    rule = f"is not a hyperparameter of the built-in {info.name} trainer"
    return SpecIssue(path, rule, key, closest(key, [*info.builtin_params, *info.param_aliases]))


def _check_builtin_params(info: FrameworkInfo, loop_config: dict[str, Any]) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    seen: dict[str, str] = {}
    for key, value in loop_config.items():
        path = f"{LOOP}.{key}"
        name = _canonical(info, key)
        unknown = _unknown_param(info, key, path)
        if unknown is not None:
            issues.append(unknown)
            continue
        if name in seen:
            issues.append(SpecIssue(path, f"duplicates '{seen[name]}'", key, "Give each hyperparameter once."))
        seen[name] = key
        issues += check_param_value(info, name, value, path)
    return issues


def _check_epochs(info: FrameworkInfo, loop_config: dict[str, Any], epochs: int) -> list[SpecIssue]:
    given = [key for key in loop_config if _canonical(info, key) == info.epochs_param]
    if given and loop_config[given[0]] != epochs:
        return [
            SpecIssue("trainConfig.epochs", f"conflicts with {LOOP}.{given[0]}", epochs, "Set epochs in one place.")
        ]
    return []


def check_param_value(info: FrameworkInfo, name: str, value: Any, path: str) -> list[SpecIssue]:
    """A built-in hyperparameter's value has its default's type and is positive."""
    default = info.builtin_params[name]
    want_int = isinstance(default, int) and not isinstance(default, bool)
    ok_type = isinstance(value, int) if want_int else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type:
        kind = "an integer" if want_int else "a number"
        return [SpecIssue(path, f"must be {kind}", value, f"Default is {default!r}.")]
    bound = _lower_bound_broken(info, name, value)
    if bound is not None:
        return [SpecIssue(path, f"must be {bound}", value, f"Default is {default!r}.")]
    top = info.param_max.get(name)
    if top is not None and value > top:
        return [SpecIssue(path, f"must be <= {top:g}", value, f"Default is {default!r}.")]
    return []


def _lower_bound_broken(info: FrameworkInfo, name: str, value: float) -> str | None:
    """The lower bound ``value`` breaks (None: none): every built-in hyperparameter is > 0, some >= their
    ``param_min``. A fixed value and a searched domain's lowest value answer to the same bound."""
    if value <= 0:
        return "> 0"
    low = info.param_min.get(name)
    return f">= {low:g}" if low is not None and value < low else None


def check_trainer_path(value: str, base_dirs: tuple[Path, ...]) -> SpecIssue | None:
    """Parse and statically check a trainerPath."""
    ref = trainer_ref.parse(value, base_dirs)
    if isinstance(ref, SpecIssue):
        return ref
    return trainer_ref.check(ref, value)


def check_builtin_space(info: FrameworkInfo, search: Group, fixed: dict[str, Any]) -> list[SpecIssue]:
    """A search space for a built-in trainer: its keys are the trainer's hyperparameters, their domains fit
    them (a domain validation refused is left alone here: it is reported already)."""
    issues: list[SpecIssue] = []
    for key, node in search.members.items():
        path = f"tuneConfig.searchSpace.{key}"
        name = _canonical(info, key)
        unknown = _unknown_param(info, key, path)
        if unknown is not None:
            issues.append(unknown)
            continue
        if any(_canonical(info, k) == name for k in fixed):
            issues.append(SpecIssue(path, f"is also fixed in {LOOP}", key, "Give it in one place."))
        issues += _check_searched_value(info, name, node, path)
    return issues


def _check_searched_value(info: FrameworkInfo, name: str, node: Node, path: str) -> list[SpecIssue]:
    if isinstance(node, Constant | Group):  # a group is never a number: judged as the object it is
        return check_param_value(info, name, node.value if isinstance(node, Constant) else node.to_json(), path)
    if isinstance(node, Refused):
        return []  # reported by spec.space_checks already
    if isinstance(node, Categorical):
        return [i for n, v in enumerate(node.values) for i in check_param_value(info, name, v, f"{path}.values[{n}]")]
    want_int = isinstance(info.builtin_params[name], int)
    if want_int and node.KIND != "int":
        return [
            SpecIssue(
                f"{path}.type",
                f"'{name}' is an integer hyperparameter",
                node.type,
                "Use randint, qrandint, lograndint or choice.",
            )
        ]
    low_bound = (node.bounds() or [None])[0]
    bound = None if low_bound is None else _lower_bound_broken(info, name, low_bound)
    if bound is not None:
        return [SpecIssue(f"{path}.min", f"'{name}' must stay {bound}", low_bound)]
    return []
