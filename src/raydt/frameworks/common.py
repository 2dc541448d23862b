"""What every built-in loop shares: raydt's settings under the reserved config key, when to checkpoint (every N
epochs, and at each epoch end while a node is drained for preemption), where to start from (and the MLP
predictors' softmax)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

RESERVED_KEY = "_raydt"  # the one definition; raydt.plan and raydt.data write it, the built-in loops read it


def checkpoint_every(config: dict[str, Any]) -> int:
    """runConfig.checkpoint.frequency: checkpoint every N epochs."""
    return int((config.get(RESERVED_KEY) or {}).get("checkpointFrequency", 1))


def due(epochs_done: int, epochs: int, every: int) -> bool:
    """Checkpoint now: every N epochs, and always at the last one."""
    return epochs_done % every == 0 or epochs_done == epochs


#: Drain.hold: the next epoch is not started when fewer than 2 epochs and this many seconds are left before the deadline
HOLD_MARGIN_S = 5.0
#: ... and the workers wait at most this long past the deadline for Ray Train to stop them, then train on
HOLD_PAST_DEADLINE_S = 60.0


class Drain:
    """A node running this run's workers drained for preemption (a spot node taken back, a Kubernetes node upgrade),
    as Ray Train's ``get_preemption_info`` tells it; one per loop, called on every rank at each epoch end.

    ``drain()`` asks (a collective: every rank once per epoch, before it decides to checkpoint): while a drain is on,
    raydt's loops save their usual checkpoint at each epoch end (a resume is the same as after any other), until Ray
    Train stops the workers at the drain's deadline and restarts them from it; the restart counts against
    ``runConfig.maxPreemptions``, not ``maxFailures``. Costs one small collective per epoch (a few ms, measured).

    ``drain.hold()`` (at the start of every epoch, so never after the last): when the epoch would end too close to
    the deadline (fewer than two epochs and ``HOLD_MARGIN_S`` left), the workers wait for Ray Train to stop them
    instead of starting it (the drained epochs are saved: nothing is lost but the wait). A
    node that goes a little before its deadline then finds no rank inside a collective (DDP's all-reduce, measured:
    the survivors' "Connection reset by peer" ended the run before Ray Train saw the lost worker as preempted).
    ``info``, ``clock``, ``sleep``: what to ask and how to keep time (a test's fakes).
    """

    def __init__(
        self,
        info: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._info, self._clock, self._sleep = info, clock, sleep
        self._last: float | None = None  # when drain() was last called: an epoch is the time between two calls
        self.epoch_s: float | None = None
        self.deadline_s: float | None = None  # epoch seconds; None: no drain, or a drain without a deadline

    def __call__(self) -> bool:
        now = self._clock()
        if self._last is not None:
            self.epoch_s = now - self._last
        self._last = now
        if self._info is None:
            import ray.train

            self._info = ray.train.get_preemption_info
        found = self._info()
        deadline_ms = getattr(found, "deadline_ms", None)
        self.deadline_s = deadline_ms / 1000 if found is not None and deadline_ms else None
        return found is not None

    def hold(self) -> bool:
        """Wait for the restart when an epoch started now would end too close to the deadline; True: it waited (and
        Ray Train did not stop the workers within ``HOLD_PAST_DEADLINE_S`` after it: training goes on)."""
        if self.deadline_s is None or self.epoch_s is None:
            return False
        if self._clock() + 2 * self.epoch_s + HOLD_MARGIN_S < self.deadline_s:
            return False
        until = self.deadline_s + HOLD_PAST_DEADLINE_S
        while self._clock() < until:
            self._sleep(min(1.0, max(0.0, until - self._clock())))
        self._last = self._clock()  # the wait is no epoch
        return True


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
