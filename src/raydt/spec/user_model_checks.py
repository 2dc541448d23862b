"""Rules of ``trainConfig.model`` (a user's PyTorch model trained by raydt's loop): the model, data, loss and
metric references are read with ``ast`` (never run, never importing torch), a model class's keyword arguments
are matched against trainLoopConfig and the search space, and the loop's own keys are checked by value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from raydt import trainer_ref
from raydt.errors import SpecIssue
from raydt.frameworks.pytorch import LOSSES, OPTIMIZERS, PRECISIONS, SCHEDULES, USER_PARAMS
from raydt.spec.model import Spec
from raydt.spec.waiting import Waiting
from raydt.suggest import closest

MODEL, DATA, LOSS, METRICS = "trainConfig.model", "trainConfig.data", "trainConfig.loss", "trainConfig.metrics"
STRATEGY, PREPROCESS, POSTPROCESS = "trainConfig.strategy", "trainConfig.preprocess", "trainConfig.postprocess"
LOOP, SPACE = "trainConfig.trainLoopConfig", "tuneConfig.searchSpace"
#: aliases a Tune trial folds into the built-in names (runners.trials.merged_config): a kwarg may use either
USER_PREDICTOR = "raydt.frameworks.pytorch.user.predictor:Predictor"  # serves regression outputs as well
ALIASES = {"batch_size": "batchSize", "hidden_size": "hiddenSize", "learning_rate": "lr"}


def check(spec: Spec, base_dirs: tuple[Path, ...], wait: Waiting) -> list[SpecIssue]:
    """Every problem of trainConfig.model and the keys that only make sense with it."""
    tc = spec.train_config
    if tc.model is None:
        extras = [(DATA, tc.data), (LOSS, tc.loss), (METRICS, tc.metrics or None)]
        extras += [(STRATEGY, tc.strategy), (PREPROCESS, tc.preprocess), (POSTPROCESS, tc.postprocess)]
        return [SpecIssue(p, "needs trainConfig.model", v, "Name your model, or drop it.") for p, v in extras if v]
    if not isinstance(tc.model, str):  # {pretrained | config}: a language model, framework transformers' own
        hint = "Set trainConfig.framework: transformers, or name your nn.Module: 'models.py:Net'."
        return [SpecIssue(MODEL, "names a language model: framework transformers fine-tunes it", "{...}", hint)]
    issues: list[SpecIssue] = []
    if tc.framework != "pytorch" and not wait.waits(MODEL, "trainConfig.framework"):
        hint = "Set trainConfig.framework to pytorch (or lightning for a LightningModule)."
        issues.append(SpecIssue(MODEL, f"is run by the pytorch framework, not '{tc.framework}'", tc.model, hint))
    if tc.trainer_path is not None:
        hint = "Give either your own Ray Train loop (trainerPath) or your model (model) for raydt's loop."
        issues.append(SpecIssue(MODEL, "excludes trainConfig.trainerPath", tc.model, hint))
    if tc.data is None and spec.data_config is None:
        hint = "'data.py:load_data' (torch Datasets), or dataConfig (Ray Data)."
        issues.append(SpecIssue(DATA, "is required with trainConfig.model (or dataConfig)", None, hint))
    if tc.data is not None and spec.data_config is not None:
        hint = "Give either trainConfig.data (your torch Datasets) or dataConfig (Ray Data), not both."
        issues.append(SpecIssue(DATA, "excludes dataConfig", tc.data, hint))
    found = trainer_ref.find_definition(tc.model, MODEL, base_dirs, issues)
    signature = trainer_ref.constructor_signature(found, tc.model, MODEL, issues)
    if tc.data is not None:
        trainer_ref.check_function(
            trainer_ref.find_definition(tc.data, DATA, base_dirs, issues), tc.data, DATA, 1, issues
        )
    if tc.loss is not None and tc.loss not in LOSSES:
        if ":" in tc.loss:
            trainer_ref.check_function(
                trainer_ref.find_definition(tc.loss, LOSS, base_dirs, issues), tc.loss, LOSS, 2, issues
            )
        else:
            issues.append(SpecIssue(LOSS, "is not a known loss", tc.loss, closest(tc.loss, [*LOSSES, "file.py:fn"])))
    for n, ref in enumerate(tc.metrics):
        path = f"{METRICS}[{n}]"
        trainer_ref.check_function(trainer_ref.find_definition(ref, path, base_dirs, issues), ref, path, 2, issues)
    _serving_hooks(spec, base_dirs, issues)
    sc = spec.serve_config
    if sc is not None and sc.predictor_path is None and tc.loss is not None and not LOSSES.get(tc.loss, ("", 0))[1]:
        rule = "is required to serve a regression (or custom-loss) model: the built-in predictor answers class labels"
        issues.append(SpecIssue("serveConfig.predictorPath", rule, None, f"Set it to '{USER_PREDICTOR}'."))
    use_gpu = spec.config.use_gpu if tc.scaling_config.use_gpu is None else tc.scaling_config.use_gpu
    for key, value in tc.train_loop_config.items():
        issues += _key(f"{LOOP}.{key}", key, value, signature, bool(use_gpu))
    space = spec.tune_config.search_space if spec.mode == "tune" and spec.tune_config is not None else {}
    for key, node in space.items():
        issues += _searched(f"{SPACE}.{key}", key, node, signature, bool(use_gpu))
    if signature is not None:
        given = {ALIASES.get(k, k) for k in [*tc.train_loop_config, *space]}
        missing = [k for k in signature.required if ALIASES.get(k, k) not in given]
        if missing:
            rule = f"{tc.model.rpartition(':')[2]}() needs keyword argument(s) {', '.join(missing)}"
            issues.append(SpecIssue(MODEL, rule, tc.model, f"Give them in {LOOP} or {SPACE}."))
    return issues


def _serving_hooks(spec: Spec, base_dirs: tuple[Path, ...], issues: list[SpecIssue]) -> None:
    """preprocess (raw rows -> the model's inputs) and postprocess (outputs -> answers), called by mode serve."""
    tc = spec.train_config
    if tc.preprocess is not None:
        found_pre = trainer_ref.find_definition(tc.preprocess, PREPROCESS, base_dirs, issues)
        trainer_ref.check_function(
            found_pre, tc.preprocess, PREPROCESS, 2, issues, want="(instances) or (instances, config)"
        )
        if spec.data_config is not None:
            hint = "Leave it out: serving applies dataConfig's fitted preprocessing to raw rows itself."
            issues.append(SpecIssue(PREPROCESS, "excludes dataConfig", tc.preprocess, hint))
    if tc.postprocess is not None:
        found_post = trainer_ref.find_definition(tc.postprocess, POSTPROCESS, base_dirs, issues)
        trainer_ref.check_function(
            found_post, tc.postprocess, POSTPROCESS, 2, issues, want="(outputs, instances) or (outputs)"
        )


def _key(path: str, key: str, value: Any, sig: trainer_ref.Signature | None, use_gpu: bool) -> list[SpecIssue]:
    """A fixed trainLoopConfig key: one of the loop's (checked by value), else the model's."""
    if key in USER_PARAMS or ALIASES.get(key) in USER_PARAMS:
        return check_value(path, ALIASES.get(key, key), value, use_gpu)
    if (
        sig is None
        or sig.any_keyword
        or ALIASES.get(key, key) in {ALIASES.get(k, k) for k in sig.required + sig.optional}
    ):
        return []
    valid = [*USER_PARAMS, *sig.required, *sig.optional]
    rule = "is neither a key of raydt's loop nor a keyword argument of the model class"
    return [SpecIssue(path, rule, key, closest(key, valid))]


def _searched(path: str, key: str, node: Any, sig: trainer_ref.Signature | None, use_gpu: bool) -> list[SpecIssue]:
    """A searched key: known as a fixed one would be; a constant or choice of the loop's keys checked by value."""
    issues = _key(path, key, None, sig, use_gpu) if key not in USER_PARAMS else []
    if issues or key not in USER_PARAMS:
        return issues
    if not isinstance(node, dict):
        return check_value(path, key, node, use_gpu)
    values = node.get("values") if node.get("type") in ("choice", "grid") else None
    if isinstance(values, list):
        return [i for n, v in enumerate(values) for i in check_value(f"{path}.values[{n}]", key, v, use_gpu)]
    return []


def check_value(path: str, name: str, value: Any, use_gpu: bool) -> list[SpecIssue]:
    """One of the loop's keys: its default's type; positive sizes and rates; a known optimizer, schedule, precision."""
    if value is None:
        return []
    default = USER_PARAMS[name]
    choices = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "precision": PRECISIONS}.get(name)
    if choices is not None:
        if value not in choices:
            return [SpecIssue(path, f"is not a known {name}", value, closest(str(value), choices))]
        if value == "fp16" and not use_gpu:
            hint = "fp16 autocast needs a GPU (config.useGpu: true); on CPU use bf16."
            return [SpecIssue(path, "fp16 needs GPU workers", value, hint)]
        return []
    want_int = isinstance(default, int)
    ok = isinstance(value, int) if want_int else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        return [
            SpecIssue(path, f"must be {'an integer' if want_int else 'a number'}", value, f"Default is {default!r}.")
        ]
    positive = name in ("lr", "batchSize", "epochs", "accumulate")
    if value < 0 or (positive and value == 0):
        return [SpecIssue(path, f"must be {'> 0' if positive else '>= 0'}", value, f"Default is {default!r}.")]
    return []
