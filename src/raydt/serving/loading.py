"""Which checkpoint to serve and which predictor loads it. Imports no Ray Serve."""

from __future__ import annotations

import os
from typing import Any

from raydt.errors import RunError, SpecError, SpecIssue


def make_predictor(options: dict[str, Any]) -> Any:
    """The built-in predictor, or the user's class from ``predictorPath``, for ``options['checkpoint']``."""
    from raydt.serving.predictors import BuiltinPredictor, UserPredictor

    if options.get("predictorPath"):
        return UserPredictor(options["predictorPath"], options["checkpoint"], options.get("framework"))
    return BuiltinPredictor(options["checkpoint"])


def best_checkpoint(experiment: str) -> str:
    """The best checkpoint of a raydt experiment directory (train or tune), by its own metric and mode."""
    from raydt import experiment as experiments
    from raydt.errors import SpecFileError
    from raydt.spec import loader

    try:
        raw = experiments.spec_for_resume(experiment)
    except SpecFileError as err:
        raise SpecError([SpecIssue("serveConfig.experimentPath", err.issues[0].rule, experiment, err.hint)]) from None
    loaded = loader.load(raw)
    from raydt import plan

    if loaded.spec.mode == "tune":
        p = plan.tune(loaded)
        from ray.tune import ExperimentAnalysis

        analysis = ExperimentAnalysis(experiment, default_metric=p.train.metric, default_mode=p.train.metric_mode)
        trial = analysis.get_best_trial(scope="all")
        ckpt = analysis.get_best_checkpoint(trial) if trial is not None else None
    else:
        t = plan.train(loaded)
        import ray.train

        result = ray.train.Result.from_path(experiment)
        try:  # Ray ranks the kept checkpoints by the metric (those without it are skipped)
            ckpt = result.get_best_checkpoint(t.metric, t.metric_mode)
        except RuntimeError:  # no checkpoint carries the metric: the latest one
            ckpt = result.checkpoint
    if ckpt is None or not os.path.isdir(ckpt.path):
        raise RunError(
            f"experiment {experiment} has no checkpoint to serve",
            hint="Serve a run whose trainer saved checkpoints (pass checkpoint= to ray.train.report).",
        )
    return str(ckpt.path)


def load_user_class(ref_text: str) -> Any:
    """Import the class named by ``predictorPath``; its import errors are the user's."""
    from raydt import trainer_ref

    ref = trainer_ref.parse(ref_text)
    if isinstance(ref, SpecIssue):
        raise SpecError([SpecIssue("serveConfig.predictorPath", ref.rule, ref_text, ref.hint)])
    return trainer_ref.load(ref)
