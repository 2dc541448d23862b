"""How many parameters a causal LM has, counted on the meta device (Accelerate's ``init_empty_weights``: no weight
is allocated), and its linear layers (what LoRA adapts). Imports torch, Transformers and Accelerate inside functions."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, TypeAlias

# a pretrained folder (its config.json), a config.json file, a config dict (with "model_type"), or a transformers
# config object
ModelSource: TypeAlias = "str | os.PathLike[str] | Mapping[str, Any] | Any"


class LinearLayer(NamedTuple):
    name: str
    in_features: int
    out_features: int


class ModelCount(NamedTuple):
    """What :func:`count_parameters` finds on the meta model: ``params`` first, then the shapes the estimate uses."""

    params: int
    linears: tuple[LinearLayer, ...]
    output_layer: str | None  # the output embedding's module name ("lm_head"), which "all-linear" leaves out
    hidden_size: int
    num_layers: int
    vocab_size: int


def _load_config(model_source: ModelSource) -> Any:
    from transformers import AutoConfig

    if isinstance(model_source, Mapping):
        values = dict(model_source)
        model_type = values.pop("model_type", None)
        if not model_type:
            raise ValueError("a model config dict needs its model_type (e.g. 'llama')")
        return AutoConfig.for_model(model_type, **values)
    if isinstance(model_source, str | os.PathLike):
        path = Path(model_source)
        if path.is_file():
            return _load_config(json.loads(path.read_text()))
        try:
            return AutoConfig.from_pretrained(str(model_source))
        except (OSError, ValueError) as e:
            raise ValueError(f"cannot read the model config of {model_source}: {e}") from e
    if hasattr(model_source, "to_dict") and hasattr(model_source, "model_type"):
        return model_source  # already a transformers config
    raise TypeError(f"model source must be a folder, a config.json, a dict or a config, not {type(model_source)}")


def _config_int(config: Any, *names: str) -> int:
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    for cfg in (text, config):
        for name in names:
            value = getattr(cfg, name, None)
            if isinstance(value, int) and value > 0:
                return value
    raise ValueError(f"the model config has none of {', '.join(names)}")


def meta_model(model_source: ModelSource) -> Any:
    """The causal LM of ``model_source`` built on the meta device: shapes only, nothing allocated or loaded."""
    from accelerate import init_empty_weights
    from transformers import AutoModelForCausalLM

    config = _load_config(model_source)
    with init_empty_weights():
        model = AutoModelForCausalLM.from_config(config)
    model.tie_weights()  # on meta the tied input/output embeddings come out as two tensors until re-tied
    return model


def count_parameters(model_source: ModelSource) -> ModelCount:
    """Count the parameters of ``model_source`` on the meta device; ``ModelCount`` is a tuple, ``params`` first,
    then every linear layer's (name, in, out) and the output layer's name, which LoRA's arithmetic uses."""
    from torch import nn

    model = meta_model(model_source)
    conv1d: Any = ()
    try:
        from transformers.pytorch_utils import Conv1D

        conv1d = (Conv1D,)
    except ImportError:  # pragma: no cover - every supported transformers has it
        pass
    linears: list[LinearLayer] = []
    module: Any
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            linears.append(LinearLayer(name, module.in_features, module.out_features))
        elif conv1d and isinstance(module, conv1d):  # GPT-2 style: weight is (in, out)
            linears.append(LinearLayer(name, int(module.weight.shape[0]), int(module.weight.shape[1])))
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    output_layer = next((n for n, m in model.named_modules() if m is output), None) if output is not None else None
    config = model.config
    return ModelCount(
        params=sum(p.numel() for p in model.parameters()),  # tied weights are counted once, as parameters() does
        linears=tuple(linears),
        output_layer=output_layer,
        hidden_size=_config_int(config, "hidden_size", "n_embd", "d_model"),
        num_layers=_config_int(config, "num_hidden_layers", "n_layer", "num_layers"),
        vocab_size=_config_int(config, "vocab_size"),
    )
