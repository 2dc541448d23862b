"""Rules of ``framework: lightning``: the user's LightningModule (``trainConfig.model``, required: Lightning has no
built-in model), an optional ``trainConfig.data``, and the loop's keys (``lightning.LOOP_PARAMS``) checked by value;
every other trainLoopConfig / searchSpace key must be a keyword argument of the module class. The references are
read with ``ast`` as for the PyTorch loop (``user_model_checks``): never run, never importing torch or Lightning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from raydt import trainer_ref
from raydt.errors import SpecIssue
from raydt.frameworks.lightning import LOOP_PARAMS
from raydt.spec import user_model_checks as umc
from raydt.spec.model import Spec
from raydt.spec.waiting import Waiting
from raydt.suggest import closest

MODULE_HINT = "Your LightningModule computes its loss in training_step and logs its metrics with self.log."


def check(spec: Spec, base_dirs: tuple[Path, ...], wait: Waiting) -> list[SpecIssue]:
    """Every problem of a lightning trainConfig (with no trainerPath: that is the user's own Ray Train loop)."""
    tc = spec.train_config
    if tc.model is None:
        rule = "is required with framework lightning (it has no built-in model)"
        return [SpecIssue(umc.MODEL, rule, None, "Name your LightningModule: 'models.py:LitModel'.")]
    if not isinstance(tc.model, str):
        hint = "Name your LightningModule: 'models.py:LitModel' (a language model: framework transformers)."
        return [SpecIssue(umc.MODEL, "must be a reference to your LightningModule", "{...}", hint)]
    issues: list[SpecIssue] = []
    for path, value in ((umc.LOSS, tc.loss), (umc.METRICS, tc.metrics or None)):
        if value:
            issues.append(SpecIssue(path, "is not read with framework lightning", value, MODULE_HINT))
    if tc.strategy is not None:  # Ray's RayFSDPStrategy is not wired in: DDP (RayDDPStrategy) is what runs
        hint = "Leave it out: Lightning runs under Ray's RayDDPStrategy."
        issues.append(SpecIssue(umc.STRATEGY, "is not read with framework lightning", tc.strategy, hint))
    hint = "Serve with serveConfig.predictorPath for your own input and output handling."
    for path, hook in ((umc.PREPROCESS, tc.preprocess), (umc.POSTPROCESS, tc.postprocess)):
        if hook is not None:
            issues.append(SpecIssue(path, "is not read with framework lightning", hook, hint))
    if spec.data_config is not None:
        hint = "Return a LightningDataModule or your Datasets from trainConfig.data instead."
        issues.append(SpecIssue("dataConfig", "is not read with framework lightning yet", None, hint))
    signature = trainer_ref.constructor_signature(
        trainer_ref.find_definition(tc.model, umc.MODEL, base_dirs, issues), tc.model, umc.MODEL, issues
    )
    if tc.data is not None:
        trainer_ref.check_function(
            trainer_ref.find_definition(tc.data, umc.DATA, base_dirs, issues), tc.data, umc.DATA, 1, issues
        )
    use_gpu = spec.config.use_gpu if tc.scaling_config.use_gpu is None else tc.scaling_config.use_gpu
    for key, value in tc.train_loop_config.items():
        issues += _key(f"{umc.LOOP}.{key}", key, value, signature, bool(use_gpu))
    space = spec.tune_config.search_space if spec.mode == "tune" and spec.tune_config is not None else {}
    for key, node in space.items():
        issues += _searched(f"{umc.SPACE}.{key}", key, node, signature, bool(use_gpu))
    if signature is not None:
        given = {_name(k) for k in [*tc.train_loop_config, *space]}
        missing = [k for k in signature.required if _name(k) not in given and k not in given]
        if missing:
            rule = f"{tc.model.rpartition(':')[2]}() needs keyword argument(s) {', '.join(missing)}"
            issues.append(SpecIssue(umc.MODEL, rule, tc.model, f"Give them in {umc.LOOP} or {umc.SPACE}."))
    return issues


def _name(key: str) -> str:
    return "batchSize" if key == "batch_size" else key


def _key(path: str, key: str, value: Any, sig: trainer_ref.Signature | None, use_gpu: bool) -> list[SpecIssue]:
    """A fixed trainLoopConfig key: one of the loop's (checked by value), else the module's."""
    if _name(key) in LOOP_PARAMS:
        return umc.check_value(path, _name(key), value, use_gpu)
    if sig is None or sig.any_keyword or key in sig.required + sig.optional:
        return []
    rule = "is neither a key of raydt's Lightning loop nor a keyword argument of the module class"
    return [SpecIssue(path, rule, key, closest(key, [*LOOP_PARAMS, *sig.required, *sig.optional]))]


def _searched(path: str, key: str, node: Any, sig: trainer_ref.Signature | None, use_gpu: bool) -> list[SpecIssue]:
    """A searched key: known as a fixed one would be; a constant or choice of the loop's keys checked by value."""
    name = _name(key)
    if name not in LOOP_PARAMS:
        return _key(path, key, None, sig, use_gpu)
    if not isinstance(node, dict):
        return umc.check_value(path, name, node, use_gpu)
    values = node.get("values") if node.get("type") in ("choice", "grid") else None
    if isinstance(values, list):
        return [i for n, v in enumerate(values) for i in umc.check_value(f"{path}.values[{n}]", name, v, use_gpu)]
    return []
