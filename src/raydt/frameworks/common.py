"""What every built-in loop shares: raydt's settings under the reserved config key, where to start from
(and the MLP predictors' softmax)."""

from __future__ import annotations

from typing import Any

RESERVED_KEY = "_raydt"  # the one definition; raydt.plan and raydt.data write it, the built-in loops read it


def checkpoint_every(config: dict[str, Any]) -> int:
    """runConfig.checkpoint.frequency: checkpoint every N epochs."""
    return int((config.get(RESERVED_KEY) or {}).get("checkpointFrequency", 1))


def due(epochs_done: int, epochs: int, every: int) -> bool:
    """Checkpoint now: every N epochs, and always at the last one."""
    return epochs_done % every == 0 or epochs_done == epochs


def starting_checkpoint(config: dict[str, Any]) -> Any:
    """Ray Train's checkpoint to resume from, else trainConfig.resumeFromCheckpoint, else None."""
    import ray.train

    checkpoint = ray.train.get_checkpoint()
    resume_from = (config.get(RESERVED_KEY) or {}).get("resumeFrom")
    if checkpoint is None and resume_from:
        checkpoint = ray.train.Checkpoint.from_directory(resume_from)
    return checkpoint


def initial_weights(config: dict[str, Any]) -> Any:
    """warmStart.initFromBest: the earlier trial's checkpoint a new trial takes its weights from (its own
    optimizer, schedule and epoch count start fresh), unless Ray has a checkpoint of this trial (a restart)."""
    import ray.train

    init_from = (config.get(RESERVED_KEY) or {}).get("initFrom")
    if not init_from or ray.train.get_checkpoint() is not None:
        return None
    return ray.train.Checkpoint.from_directory(init_from)


def softmax(logits: Any) -> Any:
    """Class probabilities from a batch of logits (an array): the MLP predictors' last step."""
    import numpy as np

    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))
