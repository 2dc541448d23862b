"""Rules of ``predictConfig`` (mode predict) that need no Ray and no data: the model to predict with exists, the
rows' paths exist, the output does not replace anything by surprise, and the sections a predict run would ignore
are refused. Never imports Ray. What needs the data itself (columns, types) is the run's to check."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from raydt import paths, trainer_ref
from raydt.errors import SpecIssue
from raydt.spec.data_checks import check_paths
from raydt.spec.model import PREDICTION_COLUMN, PROBABILITIES_COLUMN, PredictConfig, Spec
from raydt.spec.waiting import Waiting

AT = "predictConfig"
#: sections a predict run does not read: given with mode predict, they would be ignored without a word
IGNORED = {
    "trainConfig": "a predict run trains nothing; the checkpoint says how the model was built",
    "tuneConfig": "a predict run searches nothing",
    "serveConfig": "a predict run serves nothing; predictConfig.checkpointPath/experimentPath name the model",
    "dataConfig": "predictConfig.data names the rows to predict",
}
#: runConfig keys a predict run does not read (it reads name, storagePath and tracking: a models:/ URI's server)
IGNORED_RUN = {
    "checkpoint": "a predict run writes no checkpoints",
    "maxFailures": "a predict run retries nothing: Ray Data retries its failed tasks itself",
    "maxPreemptions": "a predict run retries nothing: Ray Data retries its failed tasks itself",
    "resume": "a predict run resumes nothing (it writes its output anew, staged)",
    "tensorboard": "a predict run logs no training metrics",
    "report": "a predict run writes no run report",
    "pendingTimeoutS": "a predict run waits for no trial",
    "sharedStorage": "a predict run writes to predictConfig.output.path",
}
_SOURCES = ("checkpointPath", "experimentPath")
_SOURCE_HINT = (
    "experimentPath: a result's experimentPath (its best checkpoint predicts); checkpointPath: a result's "
    "checkpointPath, or models:/NAME@ALIAS."
)


def check(spec: Spec, raw: dict[str, Any], base_dirs: tuple[Path, ...], wait: Waiting) -> list[SpecIssue]:
    """Every problem of ``predictConfig`` and of a predict spec's sections (``raw``: the spec as given)."""
    pc = spec.predict_config
    if spec.mode != "predict":
        if pc is None:
            return []
        rule = f"applies to mode 'predict' only (mode is '{spec.mode}')"
        return [SpecIssue(AT, rule, spec.mode, "Drop predictConfig, or set mode: predict.")]
    issues = [
        SpecIssue(key, "does not apply to mode 'predict'", _keys(raw[key]), f"Drop {key}: {why}.")
        for key, why in IGNORED.items()
        if key in raw
    ]
    run = raw.get("runConfig")
    if isinstance(run, dict):
        issues += [
            SpecIssue(f"runConfig.{key}", "does not apply to mode 'predict'", run[key], f"Drop it: {why}.")
            for key, why in IGNORED_RUN.items()
            if key in run
        ]
    if pc is None:
        if not wait.waits(AT, AT):
            hint = "Add predictConfig with experimentPath (or checkpointPath), data and output."
            issues.append(SpecIssue(AT, "is required when mode is 'predict'", None, hint))
        return issues
    issues += _check_model(pc, base_dirs, wait)
    issues += check_paths(f"{AT}.data", pc.data, base_dirs)
    if pc.data.label is not None:
        hint = "Drop it: a predict run has no label (predictConfig.data.features selects the input columns)."
        issues.append(SpecIssue(f"{AT}.data.label", "does not apply to mode 'predict'", pc.data.label, hint))
    return issues + _check_columns(pc) + _check_output(pc, base_dirs, wait)


def _keys(section: Any) -> Any:
    """A refused section as its keys (the whole of it would crowd the message)."""
    return sorted(section) if isinstance(section, dict) else section


def _check_model(pc: PredictConfig, base_dirs: tuple[Path, ...], wait: Waiting) -> list[SpecIssue]:
    """Exactly one of checkpointPath and experimentPath, an existing directory (or a models:/ URI), and the
    predictor's file, as serveConfig's."""
    issues: list[SpecIssue] = []
    sources = {"checkpointPath": pc.checkpoint_path, "experimentPath": pc.experiment_path}
    given = [key for key, value in sources.items() if value]
    if len(given) != 1 and not wait.waits(AT, *(f"{AT}.{key}" for key in _SOURCES)):
        issues.append(
            SpecIssue(AT, "needs exactly one of checkpointPath and experimentPath", given or None, _SOURCE_HINT)
        )
    for key, value in sources.items():
        if not value or (key == "checkpointPath" and paths.is_model_uri(value)):
            continue  # models:/NAME@alias: an MLflow registered model, fetched by the run
        if paths.is_remote(value) or not paths.resolve(value, base_dirs).is_dir():
            what = "an experiment folder (a result's experimentPath)" if key == "experimentPath" else "a checkpoint"
            hint = f"Give {what}; relative paths resolve against the current directory, then the spec's folder."
            issues.append(SpecIssue(f"{AT}.{key}", "must be an existing local directory", value, hint))
    if pc.predictor_path:
        ref = trainer_ref.parse(pc.predictor_path, base_dirs)
        if isinstance(ref, SpecIssue):
            issues.append(SpecIssue(f"{AT}.predictorPath", ref.rule, pc.predictor_path, ref.hint))
        elif ref.is_file and not Path(ref.target).is_file():
            hint = "Relative to the current directory or the spec's folder."
            issues.append(SpecIssue(f"{AT}.predictorPath", "file not found", pc.predictor_path, hint))
    return issues


def _check_columns(pc: PredictConfig) -> list[SpecIssue]:
    """``keepColumns``: each column once, none named as a column the run writes."""
    issues: list[SpecIssue] = []
    repeated = sorted(column for column, n in Counter(pc.keep_columns).items() if n > 1)
    if repeated:
        issues.append(SpecIssue(f"{AT}.keepColumns", "must name each column once", repeated, "Drop the repeats."))
    for i, column in enumerate(pc.keep_columns):
        if column in (PREDICTION_COLUMN, PROBABILITIES_COLUMN):
            hint = f"A predict run writes '{PREDICTION_COLUMN}' (and '{PROBABILITIES_COLUMN}'): keep another column."
            issues.append(SpecIssue(f"{AT}.keepColumns[{i}]", "is the name of a column the run writes", column, hint))
    return issues


def _check_output(pc: PredictConfig, base_dirs: tuple[Path, ...], wait: Waiting) -> list[SpecIssue]:
    """An existing output path is replaced only with overwrite: true, and never one that holds what the run reads."""
    given = pc.output.path
    if paths.is_remote(given):
        return []  # a URI: the run checks it (no filesystem here)
    issues: list[SpecIssue] = []
    target = Path(paths.output_dir(given))
    at = f"{AT}.output.path"
    if target.exists() and not pc.overwrite and not wait.waits(at, f"{AT}.overwrite"):
        hint = "Set predictConfig.overwrite: true to replace it, or name a new folder."
        issues.append(SpecIssue(at, f"already exists ({target})", given, hint))
    reads = paths.data_paths(pc.data.paths, base_dirs)
    models = (v for v in (pc.checkpoint_path, pc.experiment_path) if v and not paths.is_model_uri(v))
    reads += [str(paths.resolve(v, base_dirs)) for v in models if not paths.is_remote(v)]
    held = [r for r in reads if not paths.is_remote(r) and (Path(r) == target or target in Path(r).parents)]
    if held:
        hint = "Write the predictions to a folder of their own: the output replaces the folder at output.path."
        issues.append(SpecIssue(at, "holds what the run reads (its data or model)", given, hint))
    return issues
