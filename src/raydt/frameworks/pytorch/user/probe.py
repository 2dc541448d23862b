"""One batch through the user's model, loss, metrics and postprocess in the driver, on CPU, before Ray starts.

Validation reads the user's files without importing them; what only running them shows (a loss that does not fit
the model's output, a metric that raises, a dataset whose items are not ``(input, target)`` pairs) would
otherwise fail on every worker after Ray, the placement group and the process group are up, with the shapes
buried in a worker's traceback. Here it fails in seconds as a ``UserCodeError`` naming the functions, the
shapes and dtypes. A tune run is probed once, with a typical value of each searched key (a choice's first value,
a range's low end). Cost: one data load, one model build and one forward pass of at most ``ROWS`` rows.
"""

from __future__ import annotations

from typing import Any

from raydt import space
from raydt.errors import UserCodeError
from raydt.frameworks.common import RESERVED_KEY

ROWS = 4  # rows of the probe batch (two at least: a batch norm in train mode needs more than one)

#: what each built-in loss needs, for the hint of a mismatch
NEEDS = {
    "cross_entropy": "(N, C) logits and int64 class indices of shape (N,) in [0, C)",
    "bce": "one logit per target: outputs (N, 1) or (N,) for 0/1 targets of shape (N,)",
    "mse": "one output per target: outputs (N, 1) for targets (N,), or the targets' own shape",
}


def check(loop_config: dict[str, Any], search: space.Group | None = None) -> None:
    """Raise ``SpecError`` when this torch cannot run the strategy, and ``UserCodeError`` when one batch of train
    does not go through the model, the loss, every metric and the postprocess (``search``: a tune run's space,
    whose typical values join the config)."""
    refs: dict[str, Any] = (loop_config.get(RESERVED_KEY) or {}).get("userModel") or {}
    if refs.get("strategy"):  # what this torch can run, with dataConfig too
        from raydt.frameworks.pytorch.user.strategy import check_available

        check_available(str(refs["strategy"]))
    if not refs.get("data"):  # the built-in trainer or a trainerPath (nothing to probe), or dataConfig: its rows
        return  # exist once Ray Data has read them, on the cluster
    import torch

    from raydt.frameworks.pytorch.user import code

    config = {**loop_config, **(typical(search) if search is not None else {})}
    train_ds, _ = code.load_data(refs["data"], config)
    model = code.build_model(refs["model"], config)
    loss_fn, _ = code.make_loss(refs["loss"])
    xb, yb = first_batch(refs["data"], train_ds)
    model.eval()  # no dropout, no running-statistics update: the probe leaves the model as built
    with torch.no_grad():
        outputs = _forward(refs, model, xb)
        check_loss(refs, loss_fn, outputs, xb, yb)
        for ref in refs.get("metrics") or []:
            check_metric(ref, outputs, yb)
        if refs.get("postprocess"):
            check_postprocess(refs["postprocess"], outputs, xb)


def typical(search: space.Group) -> dict[str, Any]:
    """A value of every searched key that a trial could get: a choice's first value, a range's low end, the mean."""
    out: dict[str, Any] = {}
    for key, node in search.members.items():
        if isinstance(node, space.Group):
            out[key] = typical(node)
        elif isinstance(node, space.Constant):
            out[key] = node.value
        elif isinstance(node, space.Categorical):
            first = node.values[0]
            out[key] = typical(first) if isinstance(first, space.Group) else first
        elif isinstance(node, space.FloatRange | space.IntRange):
            out[key] = node.min
        elif isinstance(node, space.Normal):
            out[key] = node.mean
    return out


def first_batch(ref: str, dataset: Any) -> tuple[Any, Any]:
    """The first ``ROWS`` rows of train, collated as the loop's DataLoader does: (inputs, targets) tensors."""
    import torch
    from torch.utils.data import DataLoader

    try:
        batch = next(iter(DataLoader(dataset, batch_size=min(ROWS, len(dataset)), shuffle=False)))
    except Exception as exc:
        raise UserCodeError(
            f"trainConfig.data '{ref}': reading its first rows raised {type(exc).__name__}: {exc}",
            hint="Each item of the train Dataset must be an (input, target) pair of tensors or numbers.",
        ) from exc
    if not isinstance(batch, list | tuple) or len(batch) != 2 or not all(torch.is_tensor(t) for t in batch):
        got = type(batch).__name__ + (f" of {len(batch)}" if isinstance(batch, list | tuple | dict) else "")
        raise UserCodeError(
            f"trainConfig.data '{ref}': its train items collate to a {got}, not an (input, target) pair",
            hint="Return (x, y) from the Dataset's __getitem__ (TensorDataset(x, y) does).",
        )
    return batch[0], batch[1]


def _forward(refs: dict[str, Any], model: Any, xb: Any) -> Any:
    import torch

    try:
        outputs = model(xb)
    except Exception as exc:
        raise UserCodeError(
            f"trainConfig.model '{refs['model']}' raised {type(exc).__name__} on a batch of trainConfig.data "
            f"'{refs['data']}' (inputs {_shape(xb)}): {exc}",
            hint="The model's forward() must take a batch of the Dataset's inputs, shaped (N, *input).",
        ) from exc
    if not torch.is_tensor(outputs):
        raise UserCodeError(
            f"trainConfig.model '{refs['model']}' returned {type(outputs).__name__} from forward(), not a tensor",
            hint="raydt's loop passes forward()'s output to the loss: return one tensor (N, outputs).",
        )
    return outputs


def check_loss(refs: dict[str, Any], loss_fn: Any, outputs: Any, xb: Any, yb: Any) -> None:
    """The loss on the probe batch: it must run and give one number."""
    from raydt.frameworks.pytorch import LOSSES
    from raydt.frameworks.pytorch.user.code import align

    name = str(refs["loss"])
    seen = f"model '{refs['model']}' outputs {_shape(outputs)} for inputs {_shape(xb)}, targets {_shape(yb)}"
    try:
        value = loss_fn(outputs.float(), align(outputs.float(), yb, name))
    except Exception as exc:
        need = NEEDS.get(name, NEEDS["mse"]) if name in LOSSES else "what your function expects"
        raise UserCodeError(
            f"trainConfig.loss '{name}' does not fit the model's output on one batch of trainConfig.data "
            f"'{refs['data']}': {seen} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
            hint=f"{name} needs {need}: change the model's last layer, the targets' dtype/shape, or the loss.",
        ) from exc
    if not (hasattr(value, "numel") and value.numel() == 1):
        raise UserCodeError(
            f"trainConfig.loss '{name}' returned {_shape(value)} on one batch ({seen}), not a scalar tensor",
            hint="Reduce it to one number (e.g. .mean()): the loop calls backward() on it.",
        )


def check_metric(ref: str, outputs: Any, yb: Any) -> None:
    """A metric function on the probe batch: it must run and give a number."""
    from raydt.frameworks.pytorch.user.code import load

    fn = load(ref)
    try:
        float(fn(outputs.float(), yb))
    except Exception as exc:
        raise UserCodeError(
            f"trainConfig.metrics '{ref}' raised {type(exc).__name__} on one batch (outputs {_shape(outputs)}, "
            f"targets {_shape(yb)}): {exc}",
            hint="A metric takes (outputs, targets) tensors of the validation set and returns one number.",
        ) from exc


def check_postprocess(ref: str, outputs: Any, xb: Any) -> None:
    """The serving postprocess on the probe batch: it must give one prediction per instance."""
    from raydt.frameworks.pytorch.user.code import postprocess

    instances = xb.tolist()
    postprocess(ref, outputs.float(), instances)


def _shape(value: Any) -> str:
    shape = getattr(value, "shape", None)
    dtype = str(getattr(value, "dtype", type(value).__name__)).removeprefix("torch.")
    return f"{tuple(shape)} {dtype}" if shape is not None else dtype
