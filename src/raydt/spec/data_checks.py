"""Rules of ``dataConfig`` that need no data: paths exist, steps are known and well-formed. Never imports Ray.

What needs the data itself (columns, types, empty files) is checked by ``raydt.data`` after reading,
before training starts.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

from raydt import trainer_ref
from raydt.errors import SpecIssue
from raydt.paths import data_paths, is_remote
from raydt.registry import CAST_TYPES, FILL_STRATEGIES, FRAMEWORKS, MAP_KEYS, STEPS, TABULAR_FORMATS
from raydt.spec.model import DataSource, Spec
from raydt.spec.tune_checks import kind_of
from raydt.spec.waiting import Waiting
from raydt.suggest import closest


def check(spec: Spec, base_dirs: tuple[Path, ...], wait: Waiting | None = None) -> list[SpecIssue]:
    """Every problem of ``dataConfig`` that shows without reading the data."""
    wait = wait if wait is not None else Waiting()
    dc = spec.data_config
    if dc is None:
        return []
    if spec.mode not in ("train", "tune"):
        return [SpecIssue("dataConfig", f"does not apply to mode '{spec.mode}'", spec.mode, "Drop dataConfig.")]
    issues: list[SpecIssue] = []

    info = FRAMEWORKS.get(spec.train_config.framework)
    text = info is not None and info.data_kind == "text"  # text rows, tokenized: the framework's own rules

    def builtin(dependant: str) -> bool:  # the built-in trainers read these data (known once trainerPath is)
        waits = wait.waits(dependant, "trainConfig.trainerPath")
        return not waits and spec.train_config.trainer_path is None and not text

    sources = [("dataConfig.train", dc.train)]
    if dc.validation is not None:
        sources.append(("dataConfig.validation", dc.validation))
    for where, source in sources:
        issues += check_paths(where, source, base_dirs)
        if source.label is not None and source.features and source.label in source.features:
            issues.append(SpecIssue(f"{where}.features", "must not contain the label column", source.label))
        if source.format not in TABULAR_FORMATS and builtin(f"{where}.format"):
            issues.append(
                SpecIssue(
                    f"{where}.format",
                    f"the built-in trainers read tables ({', '.join(TABULAR_FORMATS)})",
                    source.format,
                    "Use csv, parquet or json, or your own trainer (trainConfig.trainerPath) for this format.",
                )
            )
    if dc.text is not None and not text and not wait.waits("dataConfig.text", "trainConfig.framework"):
        hint = "dataConfig.text tokenizes text rows for a text framework (transformers); leave it out for tables."
        issues.append(SpecIssue("dataConfig.text", "applies to a framework that trains on text", None, hint))
    label_path = "dataConfig.train.label"
    if dc.train.label is None and not wait.waits(label_path, label_path) and builtin(label_path):
        issues.append(SpecIssue(label_path, "is required by the built-in trainers", None, "Name the label column."))
    if dc.validation is not None:
        if dc.validation_split is not None:
            issues.append(
                SpecIssue(
                    "dataConfig.validationSplit",
                    "cannot be combined with dataConfig.validation",
                    dc.validation_split,
                    "Give a validation source or a split, not both.",
                )
            )
        label = dc.validation.label
        if label is not None and dc.train.label is not None and label != dc.train.label:
            issues.append(
                SpecIssue("dataConfig.validation.label", "must equal dataConfig.train.label", label, dc.train.label)
            )
    elif dc.validation_split is not None:
        wait.waits("dataConfig.validationSplit", "dataConfig.validation")  # a refused validation source
    issues += _check_trainable(spec, base_dirs, wait)
    for i, step in enumerate(dc.preprocess):
        issues += _check_step(f"dataConfig.preprocess[{i}]", step, base_dirs)
    return issues


def _check_trainable(spec: Spec, base_dirs: tuple[Path, ...], wait: Waiting) -> list[SpecIssue]:
    trainer = ("trainConfig.trainerPath", "trainConfig.trainerKind")
    if spec.mode != "tune" or wait.waits("dataConfig", *trainer) or kind_of(spec, base_dirs) != "tune":
        return []
    return [
        SpecIssue(
            "dataConfig",
            "feeds Ray Train loops (ray.train.get_dataset_shard); a Ray Tune function trainable has no shards",
            spec.train_config.trainer_path,
            "Write the trainer as a Ray Train loop (it reports with ray.train.report).",
        )
    ]


def check_paths(where: str, source: DataSource, base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    """A source's local paths exist (a glob matches a file); URIs are Ray Data's to read. ``predictConfig.data``'s
    too."""
    issues = []
    for given, path in zip(
        [source.paths] if isinstance(source.paths, str) else source.paths,
        data_paths(source.paths, base_dirs),
        strict=True,
    ):
        if is_remote(path):
            continue
        if glob.has_magic(path):
            if not glob.glob(path):
                issues.append(SpecIssue(f"{where}.paths", "pattern matches no file", given, "Check the glob."))
        elif not Path(path).exists():
            issues.append(
                SpecIssue(
                    f"{where}.paths",
                    "no such file or folder",
                    given,
                    "Relative paths resolve against the current directory, then the spec's folder.",
                )
            )
    return issues


def _check_step(where: str, step: Any, base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    names = list(STEPS)
    if not isinstance(step, dict) or not step:
        return [SpecIssue(where, "must be an object {step: options}", step, f"Steps: {', '.join(names)}.")]
    mapped = [k for k in MAP_KEYS if k in step]
    if mapped:
        return _check_map_step(where, mapped[0], step, base_dirs)
    if len(step) != 1:
        return [
            SpecIssue(where, "must have exactly one key, the step's name", sorted(step), f"Steps: {', '.join(names)}.")
        ]
    name, options = next(iter(step.items()))
    info = STEPS.get(name)
    if info is None:
        return [SpecIssue(f"{where}", "unknown preprocessing step", name, closest(name, names))]
    at = f"{where}.{name}"
    if not isinstance(options, dict):
        return [SpecIssue(at, "options must be an object", options, f'e.g. {{"{name}": {{}}}}')]
    issues = []
    for key in options:
        if key not in info.options:
            issues.append(SpecIssue(f"{at}.{key}", "unknown option", key, closest(key, list(info.options))))
    for key in info.required:
        if key not in options:
            issues.append(SpecIssue(f"{at}.{key}", "is required", None, info.options[key]))
    columns = options.get("columns")
    if columns is not None and (
        not isinstance(columns, list) or not columns or not all(isinstance(c, str) and c for c in columns)
    ):
        issues.append(SpecIssue(f"{at}.columns", "must be a non-empty list of column names", columns))
    if name == "cast" and "to" in options and options["to"] not in CAST_TYPES:
        issues.append(SpecIssue(f"{at}.to", "unknown type", options["to"], closest(str(options["to"]), CAST_TYPES)))
    if name == "fillNa":
        strategy = options.get("strategy")
        if strategy is not None and strategy not in FILL_STRATEGIES:
            issues.append(
                SpecIssue(f"{at}.strategy", "unknown strategy", strategy, closest(str(strategy), FILL_STRATEGIES))
            )
        if strategy == "constant" and "value" not in options:
            issues.append(SpecIssue(f"{at}.value", "is required with strategy constant", None))
        if "value" in options and not isinstance(options["value"], int | float | str):
            issues.append(SpecIssue(f"{at}.value", "must be a number or a string", options["value"]))
    if name == "oneHot" and "maxCategories" in options:
        value = options["maxCategories"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            issues.append(SpecIssue(f"{at}.maxCategories", "must be an integer >= 1", value))
    return issues


def _check_map_step(where: str, key: str, step: dict[str, Any], base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    issues = []
    extra = sorted(set(step) - {key, "batchSize", "concurrency"})
    if extra:
        issues.append(
            SpecIssue(f"{where}", "unknown keys beside mapBatches", extra, "Allowed: batchSize, concurrency.")
        )
    for opt in ("batchSize", "concurrency"):
        value = step.get(opt)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            issues.append(SpecIssue(f"{where}.{opt}", "must be an integer >= 1", value))
    ref = step[key]
    if not isinstance(ref, str):
        return [*issues, SpecIssue(f"{where}.{key}", "must be 'file.py:function' or 'module:function'", ref)]
    parsed = trainer_ref.parse(ref, base_dirs)
    if isinstance(parsed, SpecIssue):
        issues.append(SpecIssue(f"{where}.{key}", parsed.rule, ref, parsed.hint))
    elif parsed.is_file and not Path(parsed.target).is_file():
        issues.append(
            SpecIssue(
                f"{where}.{key}", "file not found", ref, "Relative to the current directory or the spec's folder."
            )
        )
    return issues
