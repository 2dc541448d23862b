"""The user's pieces for raydt's loop (``trainConfig.model``, ``data``, ``loss``, ``metrics``): imported, called
and checked here, each failure a ``UserCodeError`` that names the reference and what it received. Shared by the
training loop (``user.loop``) and serving (``user.predictor``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from raydt.errors import UserCodeError
from raydt.frameworks.common import RESERVED_KEY
from raydt.frameworks.pytorch import LOSSES, USER_PARAMS

#: a Tune trial folds these into raydt's names (runners.trials.merged_config): a keyword argument may use either
ALIASES = {"batch_size": "batchSize", "hidden_size": "hiddenSize", "learning_rate": "lr"}


def load(ref_text: str) -> Callable[..., Any]:
    """Import a 'file.py:name' or 'module:name' reference (a file is shipped to workers by Ray by value)."""
    from raydt import trainer_ref

    ref = trainer_ref.parse(ref_text)
    if not isinstance(ref, trainer_ref.TrainerRef):
        raise UserCodeError(f"'{ref_text}': {ref.rule}", hint=ref.hint)
    return trainer_ref.load(ref, one_argument=False)


def model_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config without raydt's reserved key: what the user's functions receive."""
    return {k: v for k, v in config.items() if k != RESERVED_KEY}


def build_model(ref_text: str, config: dict[str, Any]) -> Any:
    """The user's ``nn.Module``: a class gets its keyword arguments from the config by name; a function gets
    the config dict (or nothing)."""
    from torch import nn

    target = load(ref_text)
    given = model_config(config)
    if isinstance(target, type):
        params = inspect.signature(target).parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in params):
            kwargs = {k: v for k, v in given.items() if k not in USER_PARAMS}
        else:
            by_alias = {ALIASES.get(k, k): v for k, v in given.items()}
            kwargs = {p.name: given.get(p.name, by_alias.get(ALIASES.get(p.name, p.name))) for p in params}
            kwargs = {k: v for k, v in kwargs.items() if k in given or ALIASES.get(k, k) in by_alias}
        model = call_user(ref_text, target, **kwargs)
    else:
        model = call_user(ref_text, target, *([given] if takes_argument(target) else []))
    if not isinstance(model, nn.Module):
        raise UserCodeError(
            f"trainConfig.model '{ref_text}' returned {type(model).__name__}, not a torch.nn.Module",
            hint="Return the model (an nn.Module instance) from your function.",
        )
    return model


def load_data(ref_text: str, config: dict[str, Any]) -> tuple[Any, Any]:
    """(train, validation) Datasets from the user's function: a pair or {'train', 'validation'|'val'}, each
    a non-empty map-style Dataset."""
    return datasets(ref_text, call_data(ref_text, config))


def call_data(ref_text: str, config: dict[str, Any]) -> Any:
    """What the user's data function returns (given the model's config when it takes an argument)."""
    fn = load(ref_text)
    return call_user(ref_text, fn, *([model_config(config)] if takes_argument(fn) else []))


def datasets(ref_text: str, out: Any, expected: str = "(train, validation)", hint: str = "") -> tuple[Any, Any]:
    """``out`` of a data function checked as (train, validation) non-empty map-style Datasets (a pair or a dict)."""
    if isinstance(out, dict):
        out = (out.get("train"), out.get("validation", out.get("val")))
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise UserCodeError(
            f"trainConfig.data '{ref_text}' returned {type(out).__name__}; expected {expected}",
            hint=hint or "Return two torch Datasets, or {'train': ..., 'validation': ...}.",
        )
    for name, ds in zip(("train", "validation"), out, strict=True):
        if not (hasattr(ds, "__getitem__") and hasattr(ds, "__len__")):
            raise UserCodeError(
                f"trainConfig.data '{ref_text}': its {name} part is {type(ds).__name__}, not a map-style Dataset",
                hint="Return torch.utils.data.Dataset objects (with __len__ and __getitem__), e.g. TensorDataset.",
            )
        if len(ds) == 0:
            raise UserCodeError(f"trainConfig.data '{ref_text}': its {name} dataset is empty", hint="Give it rows.")
    return out[0], out[1]


def make_loss(name: str) -> tuple[Callable[[Any, Any], Any], bool]:
    """The loss function and whether the task is classification (val_accuracy reported)."""
    from torch import nn

    if name in LOSSES:
        cls, classification = LOSSES[name]
        return getattr(nn, cls)(), classification
    return load(name), False


def align(outputs: Any, targets: Any, loss: str) -> Any:
    """Targets in the dtype and shape the built-in loss expects (class indices, or floats shaped as the output)."""
    import torch

    if loss == "cross_entropy":
        return targets.long()
    if loss in LOSSES:
        if targets.numel() != outputs.numel():  # broadcasting would silently compute something else
            raise ValueError(
                f"{loss} needs one target per output ({outputs.numel()} outputs, {targets.numel()} targets)"
            )
        return targets.to(outputs.dtype if outputs.is_floating_point() else torch.float32).view_as(outputs)
    return targets


def correct(outputs: Any, targets: Any, loss: str) -> tuple[Any, int]:
    """(hits, count): rows whose argmax is the class (cross_entropy), or outputs whose logit sign is the 0/1
    target (bce, element by element)."""
    if loss == "cross_entropy":
        return (outputs.argmax(dim=1) == targets).sum(), len(targets)
    return ((outputs > 0) == (targets > 0.5)).sum(), targets.numel()


def preprocess(ref_text: str, instances: list[Any], config: dict[str, Any]) -> Any:
    """The user's ``preprocess(instances)`` (or ``(instances, config)``) at serving: the model's inputs, one row
    per instance. A ValueError or TypeError is the instances' fault (the client's: HTTP 400), as in a predictor."""
    fn = load(ref_text)
    args = (instances, model_config(config)) if _positional(fn) >= 2 else (instances,)
    try:
        out = fn(*args)
    except (ValueError, TypeError):
        raise
    except Exception as exc:
        raise UserCodeError(f"'{ref_text}' raised {type(exc).__name__}: {exc}", hint="Your preprocess failed.") from exc
    rows = len(out) if hasattr(out, "__len__") else None
    if rows != len(instances):
        got = f"{rows} rows" if rows is not None else type(out).__name__
        raise UserCodeError(
            f"trainConfig.preprocess '{ref_text}' returned {got} for {len(instances)} instances",
            hint="Return the model's inputs, one row per instance (a tensor, array or nested lists).",
        )
    return out


def postprocess(ref_text: str, outputs: Any, instances: list[Any]) -> list[Any]:
    """The user's ``postprocess(outputs, instances)`` (or ``(outputs)``) at serving: one JSON-ready prediction
    per instance (a tensor or array becomes lists)."""
    fn = load(ref_text)
    out = call_user(ref_text, fn, *((outputs, instances) if _positional(fn) >= 2 else (outputs,)))
    out = out.tolist() if hasattr(out, "tolist") else out
    if not isinstance(out, list | tuple) or len(out) != len(instances):
        got = f"{len(out)} items" if isinstance(out, list | tuple) else type(out).__name__
        raise UserCodeError(
            f"trainConfig.postprocess '{ref_text}' returned {got} for {len(instances)} instances",
            hint="Return one prediction per instance (a list, tensor or array of that length).",
        )
    return [v.tolist() if hasattr(v, "tolist") else v for v in out]


def _positional(fn: Callable[..., Any]) -> int:
    """How many positional arguments ``fn`` accepts (many: ``*args``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def takes_argument(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)


def call_user(ref_text: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        raise UserCodeError(
            f"'{ref_text}' raised {type(exc).__name__}: {exc}",
            hint="Your code failed when raydt called it" + (f" with {sorted(kwargs)}." if kwargs else "."),
        ) from exc
