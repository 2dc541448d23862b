"""The user's pieces for a Lightning run (``trainConfig.model``, ``data``): imported and called through the PyTorch
loop's helpers (``pytorch.user.code``: one way to name, import and call user code), then checked to be Lightning
objects. Each failure is a ``UserCodeError`` that names the reference and what it returned."""

from __future__ import annotations

import inspect
from typing import Any

from raydt.errors import UserCodeError
from raydt.frameworks.lightning import LOOP_PARAMS

LIGHTNING_HINT = "Subclass lightning.pytorch.LightningModule (import lightning.pytorch as pl; pytorch_lightning's "
LIGHTNING_HINT += "classes are another package that Ray's Lightning integration does not use)."


def build_module(ref_text: str, config: dict[str, Any]) -> Any:
    """The user's ``LightningModule``: a class gets its keyword arguments from the config by name (``**kwargs``:
    every key but the loop's own), a function gets the config dict (or nothing)."""
    import lightning.pytorch as pl

    from raydt.frameworks.pytorch.user import code

    target = code.load(ref_text)
    given = code.model_config(config)
    if isinstance(target, type) and _takes_any_keyword(target):
        module = code.call_user(ref_text, target, **{k: v for k, v in given.items() if k not in LOOP_PARAMS})
    elif isinstance(target, type):
        module = code.build_model(ref_text, given)  # keyword arguments by name, aliases folded in
    else:
        module = code.call_user(ref_text, target, *([given] if code.takes_argument(target) else []))
    if not isinstance(module, pl.LightningModule):
        raise UserCodeError(
            f"trainConfig.model '{ref_text}' returned {type(module).__module__}.{type(module).__name__}, "
            "not a lightning.pytorch.LightningModule",
            hint=LIGHTNING_HINT,
        )
    return module


def load_data(ref_text: str, config: dict[str, Any]) -> tuple[Any, Any, Any]:
    """``(datamodule, train, validation)`` from the user's function: a ``LightningDataModule`` (the datasets
    None), or train and validation Datasets as the PyTorch loop takes them (a pair or a dict)."""
    import lightning.pytorch as pl

    from raydt.frameworks.pytorch.user import code

    out = code.call_data(ref_text, config)
    if isinstance(out, pl.LightningDataModule):
        return out, None, None
    expected = "a LightningDataModule or (train, validation) Datasets"
    hint = "Return a lightning.pytorch.LightningDataModule, two torch Datasets, or {'train', 'validation'}."
    return (None, *code.datasets(ref_text, out, expected, hint))


def _takes_any_keyword(cls: type) -> bool:
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is p.VAR_KEYWORD for p in params)
