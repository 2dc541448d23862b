"""``trainConfig.strategy``: how the user's model is spread over the workers, and how its state is saved and restored.

- ``ddp`` (default): Ray Train's ``prepare_model`` (DistributedDataParallel on the worker's device);
- ``fsdp``: PyTorch's own FSDP2 (``torch.distributed.fsdp.fully_shard``) on each child module that holds
  parameters, then on the root: every worker keeps a shard of the parameters, gradients and optimizer state.
  Ray's ``prepare_model(parallel_strategy="fsdp")`` is not used: it wraps the legacy FSDP1 and refuses to run
  without CUDA ("FSDP is only available with GPU-enabled training"), while FSDP2 runs on CPU over gloo (tried
  with torch 2.13: 2 workers learn, the full state dict gathers). The model is first moved to the worker's device
  by ``prepare_model(parallel_strategy=None)``; with one worker (or no process group) nothing is sharded.

A checkpoint always holds the full, unsharded state (same keys as the plain model), so it serves and resumes
as a DDP one does; gathering it is a collective under FSDP, so every rank calls ``states``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from raydt.errors import SpecError, SpecIssue
from raydt.frameworks.pytorch.user.optim import Optimizing


def check_available(strategy: str) -> None:
    """Raise ``SpecError`` in the driver when this torch cannot run ``strategy`` (FSDP2 needs ``fully_shard``,
    public from torch 2.6), instead of an ImportError on every worker once the process group is up."""
    if strategy != "fsdp":
        return
    try:  # also fails on a torch built without torch.distributed
        from torch.distributed.fsdp import fully_shard  # noqa: F401
    except ImportError as exc:
        hint = "Use strategy: ddp, or a torch with FSDP2 (2.6 or newer): pip install 'torch>=2.6'."
        raise SpecError(
            [SpecIssue("trainConfig.strategy", f"needs torch.distributed.fsdp.fully_shard ({exc})", strategy, hint)]
        ) from None


def prepare(model: Any, strategy: str, units: Callable[[Any], Iterable[Any]] | None = None) -> Any:
    """The model on this worker's device, wrapped for ``strategy`` (build the optimizer after this). ``units``: the
    modules FSDP shards one by one before the root (default: each child module that holds trainable parameters;
    a language model passes its decoder layers)."""
    import ray.train.torch
    import torch.distributed as dist

    if strategy != "fsdp":
        return ray.train.torch.prepare_model(model)
    model = ray.train.torch.prepare_model(model, parallel_strategy=None)
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return model
    from torch.distributed.fsdp import fully_shard

    for unit in list((units or _trainable_children)(model)):
        fully_shard(unit)
    fully_shard(model)
    return model


def _trainable_children(model: Any) -> Iterable[Any]:
    return (child for child in model.children() if any(p.requires_grad for p in child.parameters()))


def sharded(model: Any) -> bool:
    from torch.distributed.fsdp import FSDPModule

    return isinstance(model, FSDPModule)


def states(model: Any, opt: Optimizing) -> dict[str, Any]:
    """Model, optimizer, schedule and scaler state, full (unsharded): a collective under FSDP, where only rank 0
    gets the tensors (on CPU) and the other ranks empty dicts."""
    if not sharded(model):
        inner = model.module if hasattr(model, "module") else model
        return {"model": inner.state_dict(), **opt.state()}
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    full = StateDictOptions(full_state_dict=True, cpu_offload=True)
    model_state, optim_state = get_state_dict(model, opt.optimizer, options=full)
    return {**opt.state(), "model": model_state, "optimizer": optim_state}


def load(model: Any, opt: Optimizing, state: dict[str, Any]) -> None:
    """A checkpoint's full state into this worker's model (its shard under FSDP) and optimizer."""
    if not sharded(model):
        (model.module if hasattr(model, "module") else model).load_state_dict(state["model"])
        opt.load(state)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

    full = StateDictOptions(full_state_dict=True)
    set_state_dict(
        model, opt.optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"], options=full
    )
    opt.load({k: v for k, v in state.items() if k != "optimizer"})


def load_weights(model: Any, weights: dict[str, Any]) -> None:
    """A full (unsharded) model state into this worker's model, its shard under FSDP; the optimizer untouched."""
    if not sharded(model):
        (model.module if hasattr(model, "module") else model).load_state_dict(weights)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    set_model_state_dict(model, weights, options=StateDictOptions(full_state_dict=True))
