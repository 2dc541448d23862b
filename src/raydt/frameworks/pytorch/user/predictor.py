"""Serving a model trained by raydt's loop for ``trainConfig.model``: the model rebuilt with the user's own
``model`` reference and the saved config, its weights from ``model.pt``, on CPU.

A predictor class in ``serveConfig.predictorPath``'s shape (``Predictor(checkpoint_dir).predict(instances)``):
``predictorPath: raydt.frameworks.pytorch.user.predictor:Predictor``; ``mode: serve`` picks it for such a checkpoint
(``serving.loading``). Instances are nested lists (each of the saved input shape) or objects ``{"x": nested list}``,
converted to tensors of the saved dtype; with ``trainConfig.preprocess`` its function's answer
(``fn(instances[, config])``) is the model's input instead. Classification answers class indices (``predict_proba``:
softmax, or sigmoid for bce); regression answers the outputs; with ``trainConfig.postprocess`` its function's answer
(``fn(outputs, instances)``) is the prediction instead.
"""

from __future__ import annotations

import os
from typing import Any

from raydt.frameworks.checkpoint_format import META_FILE, read_meta
from raydt.frameworks.pytorch.user.checkpoint import MODEL_FILE


class Predictor:
    """The user's model from a checkpoint of ``user.loop``."""

    def __init__(self, checkpoint_dir: str) -> None:
        import torch

        from raydt.frameworks.pytorch.user import code as user_code

        meta = read_meta(checkpoint_dir)
        if meta is None or "userModel" not in meta:
            raise ValueError(f"{checkpoint_dir} has no {META_FILE} of a trainConfig.model run")
        if "inputShape" not in meta:
            raise ValueError(
                f"{checkpoint_dir}: the run's batches were not (inputs, targets) pairs, so raydt does not know the "
                "model's input shape; serve it with serveConfig.predictorPath (your predictor class)"
            )
        self.meta = meta
        self.loss = str(meta["userModel"]["loss"])
        self.model = user_code.build_model(meta["userModel"]["model"], dict(meta["config"]))
        state = torch.load(os.path.join(checkpoint_dir, MODEL_FILE), weights_only=False, map_location="cpu")
        self.model.load_state_dict(state["model"])
        self.model.eval()
        self.shape = tuple(meta["inputShape"])
        self.dtype = getattr(torch, str(meta["inputDtype"]))
        self.preprocess: str | None = meta["userModel"].get("preprocess")  # trainConfig.preprocess
        self.postprocess: str | None = meta["userModel"].get("postprocess")  # trainConfig.postprocess

    def metadata(self) -> dict[str, Any]:
        """What /metadata shows: the model, its input, its task, and the hooks around it (none: raw rows in)."""
        hooks = {"preprocess": self.preprocess, "postprocess": self.postprocess}
        return {
            "userModel": self.meta["userModel"]["model"],
            "inputShape": [None, *self.shape],
            "inputDtype": self.meta["inputDtype"],
            "task": self.meta["task"],
            **({"numClasses": self.meta["numClasses"]} if "numClasses" in self.meta else {}),
            "trainedWith": self.meta["config"],
            **{key: ref for key, ref in hooks.items() if ref},
        }

    def tensor(self, instances: list[Any]) -> Any:
        """Instances (through ``preprocess`` when the checkpoint names one) -> one batch tensor of the saved dtype;
        a wrong shape is the client's error (ValueError)."""
        import torch

        rows: Any = [row["x"] if isinstance(row, dict) and "x" in row else row for row in instances]
        if self.preprocess:
            from raydt.frameworks.pytorch.user.code import preprocess

            rows = preprocess(self.preprocess, instances, dict(self.meta["config"]))
        try:
            batch = torch.as_tensor(rows, dtype=self.dtype)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f"instances must be nested lists of numbers of shape {list(self.shape)}: {exc}") from exc
        if tuple(batch.shape[1:]) != self.shape:
            raise ValueError(f"each instance must have shape {list(self.shape)} (got {list(batch.shape[1:])})")
        return batch

    def outputs(self, instances: list[Any]) -> Any:
        import torch

        with torch.no_grad():
            return self.model(self.tensor(instances)).float()

    def predict(self, instances: list[Any]) -> list[Any]:
        out = self.outputs(instances)
        if self.postprocess:
            from raydt.frameworks.pytorch.user.code import postprocess

            return postprocess(self.postprocess, out, instances)
        if self.meta["task"] != "classification":
            return [row.squeeze(-1).tolist() if row.dim() and row.shape[-1] == 1 else row.tolist() for row in out]
        if self.loss == "bce":
            return (out > 0).long().squeeze(-1).tolist()  # type: ignore[no-any-return]
        return out.argmax(dim=1).tolist()  # type: ignore[no-any-return]

    def predict_proba(self, instances: list[Any]) -> list[Any]:
        out = self.outputs(instances)
        if self.meta["task"] != "classification":
            return out.tolist()  # type: ignore[no-any-return]
        probs = out.sigmoid() if self.loss == "bce" else out.softmax(dim=1)
        return probs.tolist()  # type: ignore[no-any-return]

    def flat_probabilities(self, rows: Any) -> Any:
        """The built-in predictor's interface (``mode: serve`` without predictorPath): flattened float32 rows
        (an array of ``inputSize`` columns) -> class probabilities."""
        import numpy as np
        import torch

        batch = torch.as_tensor(np.asarray(rows)).reshape(-1, *self.shape).to(self.dtype)
        with torch.no_grad():
            out = self.model(batch).float()
        if self.loss == "bce":
            p = out.sigmoid().reshape(-1, 1)
            return torch.cat([1 - p, p], dim=1).numpy()
        return out.softmax(dim=1).numpy()
