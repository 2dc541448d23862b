"""Ray Tune's driver, patched for the length of a search (the runner enters both around ``Tuner.fit``): short
trials run on every actor and the trainable is read once. Each entry says why no public API does the job; see the
package's docstring. Importing this module imports no Ray; the entries import Ray Tune."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_REGISTRY_READS = ("get", "contains", "register", "unregister")


@contextmanager
def trainables_read_once() -> Iterator[None]:
    """While a search runs, the driver reads each trainable from Ray's key-value store once, not per trial.

    Tune's driver looks its trainable up in the GCS (``validate_trainable``, ``get_trainable_cls``: an RPC for
    each, and a cloudpickle load of the class) three to five times per trial: a fifth of its per-trial loop when
    trials are short (profiled, 200 one-report trials). The driver registered the trainable itself for this
    search and nothing replaces it meanwhile, so found entries are kept in memory; a registration or removal
    drops its key. Why private: the lookups are on ``ray.tune.registry._global_registry``, an instance no API
    configures.
    """
    from ray.tune import registry

    found: dict[tuple[str, str], Any] = {}
    reg = registry._global_registry
    get, contains, register, unregister = reg.get, reg.contains, reg.register, reg.unregister
    before = {name: vars(reg)[name] for name in _REGISTRY_READS if name in vars(reg)}  # a search inside a search

    def cached_get(category: str, key: str) -> Any:
        if category != registry.TRAINABLE_CLASS:
            return get(category, key)
        if (category, key) not in found:
            found[category, key] = get(category, key)
        return found[category, key]

    def cached_contains(category: str, key: str) -> bool:
        return (category, key) in found or bool(contains(category, key))

    def drop_then_register(category: str, key: str, value: Any) -> None:
        found.pop((category, key), None)
        register(category, key, value)

    def drop_then_unregister(category: str, key: str) -> None:
        found.pop((category, key), None)
        unregister(category, key)

    reg.get, reg.contains = cached_get, cached_contains
    reg.register, reg.unregister = drop_then_register, drop_then_unregister
    try:
        yield
    finally:
        for name in _REGISTRY_READS:
            vars(reg).pop(name, None)  # the class's methods again, or what an enclosing search set
        vars(reg).update(before)


@contextmanager
def booting_trial_actors_kept() -> Iterator[None]:
    """While a search runs, a trial whose own actor is already starting waits for it instead of taking a
    cached actor that just came free (which Tune would do, killing the starting one).

    With trials shorter than an actor's start-up (a new Ray worker process importing Ray Tune: 1-2 s), Tune's
    reuse keeps handing the first actor to the next trial and kills every other actor as it boots, so a search
    of short trials runs one trial at a time whatever its concurrency (measured: 200 one-report trials on 2
    CPUs, all on one actor). Kept, the booting actor runs its trial and the free one takes the next trial.
    A trial still waiting for resources (no actor started) takes a cached one as before. Why private: the
    choice is ``TuneController._maybe_reuse_cached_actor``; no option of Tune's changes it.
    """
    from ray.tune.execution.tune_controller import TuneController

    reuse = TuneController._maybe_reuse_cached_actor

    def reuse_unless_own_actor_started(self: Any, trial: Any) -> bool:
        own = self._trial_to_actor.get(trial)
        if own is not None and trial not in self._resetting_trials and self._actor_manager.is_actor_started(own):
            return False
        return bool(reuse(self, trial))

    TuneController._maybe_reuse_cached_actor = reuse_unless_own_actor_started
    try:
        yield
    finally:
        TuneController._maybe_reuse_cached_actor = reuse
