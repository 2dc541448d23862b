"""``trainConfig.strategy`` for a language model, and the training state a checkpoint holds under either one.

- ``ddp`` (default): Ray Train's ``prepare_model`` (DistributedDataParallel on the worker's device).
- ``fsdp``: PyTorch's FSDP2 ``fully_shard`` on every decoder layer (the module classes the model names in
  Transformers' ``_no_split_modules``: the unit Hugging Face's own FSDP auto-wrap uses), then on the root: each
  worker keeps a shard of the parameters, gradients and optimizer state. Ray's ``prepare_model(parallel_strategy=
  "fsdp")`` is not used: it wraps the legacy FSDP1, which needs CUDA; FSDP2 runs on CPU over gloo too (tried with
  torch 2.13: a LoRA model with a bf16 base shards, trains and gathers). One worker: nothing to shard.

The state is read and written through ``torch.distributed.checkpoint.state_dict`` for both strategies, so a
checkpoint is the same whatever wrote it: the trainable weights (LoRA adapters, or every weight) and the optimizer
state keyed by parameter name, full and on CPU, on rank 0 (gathering is a collective: every rank calls ``gather``).
"""

from __future__ import annotations

from typing import Any


def prepare(model: Any, strategy: str) -> Any:
    """The model on this worker's device, wrapped for ``strategy`` (build the optimizer after this): the user-model
    loop's own wrapping (``pytorch.user.strategy``), sharding the decoder layers under FSDP."""
    from raydt.frameworks.pytorch.user import strategy as torch_strategy

    return torch_strategy.prepare(model, strategy, units=decoder_layers)


def decoder_layers(model: Any) -> list[Any]:
    """The modules of the classes the model names in Transformers' ``_no_split_modules`` (its decoder layers)."""
    layers = set(getattr(plain(model), "_no_split_modules", None) or [])
    return [m for m in list(model.modules())[1:] if type(m).__name__ in layers]


def plain(model: Any) -> Any:
    """The Transformers model under DDP's and peft's wrappers (FSDP2 wraps in place: nothing to unwrap)."""
    inner = model.module if hasattr(model, "module") else model
    return inner.get_base_model() if hasattr(inner, "get_base_model") else inner


def sharded(model: Any) -> bool:
    try:
        from torch.distributed.fsdp import FSDPModule
    except ImportError:  # a torch without FSDP2 cannot have sharded it
        return False
    return isinstance(model, FSDPModule)


def gather(model: Any, optimizer: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(trainable weights, optimizer state), full, on CPU, keyed by parameter name: rank 0 gets them, the other
    ranks empty dicts. A collective: every rank calls it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True, ignore_frozen_params=True)
    weights, optim = get_state_dict(model, optimizer, options=options)
    return dict(weights), dict(optim)


def load(model: Any, optimizer: Any, weights: dict[str, Any], optim: dict[str, Any]) -> None:
    """A checkpoint's full trainable weights and optimizer state into this worker's model (its shard under FSDP)
    and optimizer; the frozen weights stay as loaded. Every rank passes the full state (each read the file)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

    known = {name for name, p in _named(model) if p.requires_grad}
    missing = set(weights) - known
    if missing:
        raise ValueError(f"the checkpoint's weights do not fit this model: {sorted(missing)[:3]}")
    options = StateDictOptions(full_state_dict=True, strict=False)
    set_state_dict(model, optimizer, model_state_dict=weights, optim_state_dict=optim, options=options)


def load_weights(model: Any, weights: dict[str, Any]) -> None:
    """Trainable weights only (warmStart.initFromBest: the optimizer and schedule start fresh)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    set_model_state_dict(model, weights, options=StateDictOptions(full_state_dict=True, strict=False))


def _named(model: Any) -> Any:
    """Parameter names as the state_dict API writes them (no DDP ``module.`` prefix)."""
    inner = model.module if hasattr(model, "module") else model
    return inner.named_parameters()
