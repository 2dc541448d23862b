"""Which checkpoint to serve and which predictor loads it. Imports no Ray Serve."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from raydt.errors import RunError, SpecError, SpecIssue

FIELD = "serveConfig.experimentPath"


def make_predictor(options: dict[str, Any]) -> Any:
    """The built-in predictor, or the user's class from ``predictorPath``, for ``options['checkpoint']``."""
    from raydt.frameworks.checkpoint_format import read_meta
    from raydt.serving.predictors import BuiltinPredictor, GenerationPredictor, UserPredictor

    if options.get("predictorPath"):
        return UserPredictor(options["predictorPath"], options["checkpoint"], options.get("framework"))
    meta = read_meta(options["checkpoint"])
    if meta is not None and meta.get("task") == "generation":  # a language model: POST /generate
        return GenerationPredictor(options["checkpoint"], meta)
    if _user_model(options["checkpoint"]):
        return UserPredictor(USER_MODEL_PREDICTOR, options["checkpoint"], options.get("framework"))
    return BuiltinPredictor(options["checkpoint"])


#: serves a trainConfig.model checkpoint: its own model on instances of its own input shape (an image, a sequence),
#: through its preprocess and postprocess
USER_MODEL_PREDICTOR = "raydt.frameworks.pytorch.user.predictor:Predictor"


def _user_model(checkpoint: str) -> bool:
    """A user-model checkpoint, unless it is a classifier fed by dataConfig without a postprocess: the built-in
    predictor applies that fitted pipeline to raw rows and answers the data's class labels (its input is the
    pipeline's flat features)."""
    from raydt.frameworks.checkpoint_format import read_meta

    meta = read_meta(checkpoint)
    if meta is None or "userModel" not in meta:
        return False
    pipeline = bool(meta.get("preprocessing", {}).get("pipeline"))
    classifier = meta.get("task") == "classification" and not meta["userModel"].get("postprocess")
    return not (pipeline and classifier)


def ranking(experiment: str) -> tuple[str, str, str]:
    """(mode, metric, metric mode) by which the stored run in ``experiment`` ranked its results.

    Read from the run's stored spec (``raydt_spec.json``), validated as a model only: serving needs the
    run's checkpoints (and the fitted data pipeline saved with them), never its data files or trainer, so
    the paths in the stored spec are not resolved and serving works from any current directory.
    """
    from pydantic import ValidationError

    from raydt import experiment as experiments
    from raydt.errors import SpecFileError
    from raydt.registry import FRAMEWORKS
    from raydt.spec import loader
    from raydt.spec.model import Spec

    stored = Path(experiment).expanduser().resolve() / experiments.SPEC_FILE
    try:
        raw, _ = loader.unwrap(experiments.spec_for_resume(experiment))
        spec = Spec.model_validate(raw)
    except SpecFileError as err:
        raise SpecError([SpecIssue(FIELD, err.issues[0].rule, experiment, err.hint)]) from None
    except (SpecError, ValidationError, ValueError, AttributeError, TypeError) as exc:  # not a spec object
        raise SpecError([_stored_issue(stored, exc)]) from None
    if spec.mode not in ("train", "tune"):
        rule = f"the stored training spec {stored} has mode '{spec.mode}': not a train or tune experiment"
        raise SpecError([SpecIssue(FIELD, rule, experiment, "Pass the experimentPath of a train or tune run.")])
    tc, info = spec.train_config, FRAMEWORKS[spec.train_config.framework]
    if spec.mode == "tune" and spec.tune_config is not None:
        from raydt.plan.objectives import objectives_of  # a multi-objective search: its first metric ranks

        first = objectives_of(spec.tune_config.metric, spec.tune_config.mode, info.default_metric, info.default_mode)[0]
        return "tune", first.metric, first.mode
    return "train", tc.metric or info.default_metric, tc.metric_mode or info.default_mode


def _stored_issue(stored: Path, exc: Exception) -> SpecIssue:
    """The stored training spec itself is unusable: say that the problem comes from that file."""
    if isinstance(exc, SpecError):
        first = str(exc.issues[0])
    elif hasattr(exc, "errors"):
        err = exc.errors()[0]
        first = f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    else:
        first = str(exc)
    return SpecIssue(
        FIELD,
        f"the stored training spec {stored} is not usable: {first}",
        str(stored.parent),
        f"The path comes from the experiment's {stored.name}, written by the training run; serve one of its "
        "checkpoints with serveConfig.checkpointPath instead.",
    )


def best_checkpoint(experiment: str) -> str:
    """The best checkpoint of a raydt experiment directory (train or tune), by its own metric and mode."""
    mode, metric, metric_mode = ranking(experiment)
    hint = "Serve a run whose trainer saved checkpoints (pass checkpoint= to ray.train.report)."
    try:
        ckpt = (_best_of_tune if mode == "tune" else _best_of_train)(experiment, metric, metric_mode)
    except (RuntimeError, ValueError, OSError) as exc:  # no Ray results there (a run that never reported)
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        raise RunError(
            f"experiment {experiment} has no checkpoint to serve: Ray cannot read its results "
            f"({lines[0] if lines else type(exc).__name__})",
            hint=hint,
        ) from None
    if ckpt is None or not os.path.isdir(ckpt.path):
        raise RunError(f"experiment {experiment} has no checkpoint to serve", hint=hint)
    return str(ckpt.path)


def _best_of_train(experiment: str, metric: str, metric_mode: str) -> Any:
    import ray.train

    result = ray.train.Result.from_path(experiment)
    try:  # Ray ranks the kept checkpoints by the metric (those without it are skipped)
        return result.get_best_checkpoint(metric, metric_mode)
    except RuntimeError:  # no checkpoint carries the metric: the latest one
        return result.checkpoint


def _best_of_tune(experiment: str, metric: str, metric_mode: str) -> Any:
    from ray.tune import ExperimentAnalysis

    analysis = ExperimentAnalysis(experiment, default_metric=metric, default_mode=metric_mode)
    trial = analysis.get_best_trial(scope="all")
    return analysis.get_best_checkpoint(trial) if trial is not None else None


def model_checkpoint(loaded: Any, checkpoint: str | None, experiment: str | None, event: Any) -> str:
    """The checkpoint a serve or predict run uses: the given one, or the experiment's best; a ``models:/NAME@alias``
    is fetched from runConfig.tracking's MLflow server (downloaded once). ``event``: the live view's line writer."""
    from raydt import paths

    found = checkpoint or best_checkpoint(experiment or "")
    if paths.is_model_uri(found):
        from raydt.tracking import models

        tracking = loaded.spec.run_config.tracking
        event(f"fetching {found} from the MLflow registry")
        found = models.fetch(found, tracking.mlflow.tracking_uri if tracking and tracking.mlflow else None)
    return found


def top_checkpoints(experiment: str, k: int) -> tuple[dict[str, str], list[tuple[str, float | None]]]:
    """({name, mode} of the run's metric, the ``k`` best checkpoints with their metric values, best first): an
    ensemble's members. A tune run: each trial's best checkpoint, trials ranked by their best value; a train run:
    its kept checkpoints ranked by the metric."""
    mode, metric, metric_mode = ranking(experiment)
    try:
        found = (_top_of_tune if mode == "tune" else _top_of_train)(experiment, metric, metric_mode)
    except (RuntimeError, ValueError, OSError) as exc:
        raise RunError(f"experiment {experiment} has no checkpoints Ray can read ({exc})") from None
    found.sort(key=lambda pair: (pair[1] is None, -(pair[1] or 0) if metric_mode == "max" else (pair[1] or 0)))
    if len(found) < k:
        raise RunError(
            f"experiment {experiment} has {len(found)} checkpoint(s) to rank; the ensemble's topK is {k}",
            hint="Lower topK, or keep more checkpoints (runConfig.checkpoint.numToKeep; a search: more trials).",
        )
    return {"name": metric, "mode": metric_mode}, found[:k]


def _top_of_tune(experiment: str, metric: str, metric_mode: str) -> list[tuple[str, float | None]]:
    from ray.tune import ExperimentAnalysis

    analysis = ExperimentAnalysis(experiment, default_metric=metric, default_mode=metric_mode)
    found = []
    for trial in analysis.trials:
        ckpt = analysis.get_best_checkpoint(trial)
        value = (trial.metric_analysis.get(metric) or {}).get(metric_mode)
        if ckpt is not None and os.path.isdir(ckpt.path):
            found.append((str(ckpt.path), None if value is None else float(value)))
    return found


def _top_of_train(experiment: str, metric: str, metric_mode: str) -> list[tuple[str, float | None]]:
    import ray.train

    result = ray.train.Result.from_path(experiment)
    found = []
    for ckpt, metrics in result.best_checkpoints or []:
        value = metrics.get(metric)
        if os.path.isdir(ckpt.path):
            found.append((str(ckpt.path), None if value is None else float(value)))
    return found
