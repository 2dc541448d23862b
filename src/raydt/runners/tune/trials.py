"""What runs inside one Tune trial. Imports Ray: loaded only for a tune run.

Three shapes, one per kind of trainer:

- a Ray Train loop on 1 worker runs *inside* the trial: ``ray.train.report`` / ``get_checkpoint`` are
  bridged to ``ray.tune.report`` / ``get_checkpoint`` (Ray Train's own local-mode hook), so trials are
  as cheap as plain Tune trainables and their checkpoints are Tune checkpoints (PBT can exploit them);
- a Ray Train loop on N > 1 workers: the trial starts a Ray Train run (``TorchTrainer`` & co.) and
  relays each of its reports, with its checkpoint, to Tune;
- a Ray Tune function trainable (``ray.tune.report``) runs as it is.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable
from typing import Any

import ray.train
import ray.tune

from raydt.frameworks.common import RESERVED_KEY
from raydt.plan import TrainPlan, TunePlan
from raydt.registry import FrameworkInfo
from raydt.runners.tune import watch as tune_watch
from raydt.search.starts import Start, nearest
from raydt.trainer_ref import call_loop
from raydt.utilisation import Reserved, sampling, watched

Loop = Callable[..., Any]
Starts = tuple[Start, ...]


def merged_config(
    fixed: dict[str, Any], sampled: dict[str, Any], info: FrameworkInfo | None, found: Starts = ()
) -> dict[str, Any]:
    """Fixed hyperparameters overlaid with the trial's sampled ones (built-in aliases folded in); with ``found``
    (warmStart.initFromBest), the nearest earlier trial's checkpoint as the one to start from."""
    out = copy.deepcopy(fixed)
    for key, value in sampled.items():
        name = info.param_aliases.get(key, key) if info else key
        if isinstance(value, dict) and isinstance(out.get(name), dict):
            out[name] = merged_config(out[name], value, None)
        else:
            out[name] = value
    start = nearest(list(found), sampled) if found else None
    if start is not None:  # the built-in loops read the reserved key, a user's trainer initFromCheckpoint
        out["initFromCheckpoint"] = start.checkpoint
        out[RESERVED_KEY] = {**(out.get(RESERVED_KEY) or {}), "initFrom": start.checkpoint}
    return out


class FreshLoop:
    """The trainer function, handed to each trial with fresh module state.

    With ``reuse_actors`` successive trials run in one process; what a trial leaves in its trainer's
    module globals, ``os.environ`` or the global RNGs must not reach the next one. A file trainer
    (shipped by value) is unpickled anew per trial, which rebuilds the globals it uses; a module trainer
    is executed anew (not via ``sys.modules``); raydt's built-in loops keep no state.
    """

    def __init__(self, loop: Loop, module: str | None, by_value: bool) -> None:
        from ray import cloudpickle

        self.blob = cloudpickle.dumps(loop) if by_value else None
        self.loop = None if by_value else loop
        self.module = module
        self.name = getattr(loop, "__name__", "")

    def get(self) -> Loop:
        """A copy of the function whose module globals no earlier trial has touched."""
        if self.blob is not None:
            from ray import cloudpickle

            fn: Loop = cloudpickle.loads(self.blob)
            return fn
        if self.module:
            import importlib.util

            spec = importlib.util.find_spec(self.module)
            if spec is not None and spec.loader is not None:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return getattr(module, self.name)  # type: ignore[no-any-return]
        assert self.loop is not None
        return self.loop


class TrialScope:
    """Restores ``os.environ`` after a trial and reseeds the global RNGs before it, as a new process would."""

    def __enter__(self) -> None:
        import random
        import sys

        self.env = dict(os.environ)
        random.seed()
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        if "torch" in sys.modules:
            sys.modules["torch"].seed()

    def __exit__(self, *_: object) -> None:
        for key in set(os.environ) - set(self.env):
            del os.environ[key]
        os.environ.update(self.env)


from raydt.experiment import USER_ERRORS_DIR  # noqa: E402  # under the experiment: <trial id>.pkl


class NoRepeat:
    """A trial whose own code raised is not run again by Tune's retries (``maxFailuresPerTrial``).

    Tune retries a trial after any failure; a retry can fix a dead trial process or node, not an exception
    from the trainer, which would only repeat after minutes of training. The exception is kept in the
    experiment directory (every node reaches it: storage is shared on a multi-node cluster) under the
    trial's id, and a retry raises it again at once instead of training. A resumed search starts without
    them (the user may have fixed the code). Tune offers no public hook to choose which failures to retry.
    """

    def __init__(self, experiment_path: str) -> None:
        self.folder = os.path.join(experiment_path, USER_ERRORS_DIR)

    def __enter__(self) -> None:
        self.marker = os.path.join(self.folder, f"{ray.tune.get_context().get_trial_id()}.pkl")
        if os.path.exists(self.marker):
            from ray import cloudpickle

            with open(self.marker, "rb") as fh:
                raise cloudpickle.load(fh)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, *_: object) -> None:
        from raydt.errors import UserCodeError, failure_class

        if exc is None or not isinstance(exc, Exception) or failure_class(exc) is not UserCodeError:
            return
        from ray import cloudpickle

        try:
            blob = cloudpickle.dumps(exc)
        except Exception:  # noqa: BLE001 - an exception that does not pickle: keep its text
            blob = cloudpickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
        try:
            os.makedirs(self.folder, exist_ok=True)
            with open(self.marker, "wb") as fh:
                fh.write(blob)
        except OSError:  # never let the bookkeeping hide the user's own exception
            pass


def local_trial(
    loop: FreshLoop,
    fixed: dict[str, Any],
    info: FrameworkInfo | None,
    env: dict[str, str],
    experiment: str,
    reserved: Reserved,
    found: Starts = (),
    train_module: str | None = None,
) -> Callable[[dict[str, Any]], None]:
    """A Ray Train loop run inside the Tune trial (one worker); ``env`` is set before it imports anything, then
    ``train_module`` (``ray.train.torch``) is loaded as a Ray Train worker has it: ``ray.train.torch.prepare_model``
    after a bare ``import ray.train`` works as under ``TorchTrainer``."""

    def trial(config: dict[str, Any], datasets: dict[str, Any] | None = None) -> None:
        from raydt.ray_compat import train as ray_compat

        context = ray.tune.get_context()
        with NoRepeat(experiment), TrialScope(), sampling(experiment, context.get_trial_id(), reserved):
            os.environ.update(env)
            if train_module:
                __import__(train_module)
            shards = {name: ds.iterator() for name, ds in datasets.items()} if datasets else None
            with ray_compat.train_api_in_tune_trial(context.get_trial_name(), shards):
                call_loop(loop.get(), merged_config(fixed, config, info, found))

    return trial


def tune_function(
    fn: FreshLoop, fixed: dict[str, Any], experiment: str, reserved: Reserved, found: Starts = ()
) -> Callable[[dict[str, Any]], None]:
    """A user's Ray Tune function trainable, given fixed + sampled hyperparameters."""

    def trial(config: dict[str, Any]) -> None:
        trial_id = ray.tune.get_context().get_trial_id()
        with NoRepeat(experiment), TrialScope(), sampling(experiment, trial_id, reserved):
            call_loop(fn.get(), merged_config(fixed, config, None, found))

    return trial


def distributed_trial(
    loop: Loop,
    p: TrainPlan,
    info: FrameworkInfo | None,
    trainer_class: type[Any],
    worker_env: dict[str, str],
    found: Starts = (),
) -> Callable[[dict[str, Any]], None]:
    """A trial that runs a Ray Train worker group and relays its reports and checkpoints to Tune.

    The Train run is named after the trial, under ``<experiment>/train_runs``, so a retried trial resumes
    its Train run's latest checkpoint.
    """
    fixed = p.loop_config

    def trial(config: dict[str, Any], datasets: dict[str, Any] | None = None) -> None:
        from raydt import ray_config

        # as in a train run: a worker group that cannot be scheduled within pendingTimeoutS ends the trial
        with NoRepeat(p.experiment_path), ray_config.scoped_env(ray_config.run_env(p)):
            _train_and_relay(p, trainer_class, loop, merged_config(fixed, config, info, found), datasets, worker_env)

    return trial


#: Searches snapshotted by an older raydt name their stopper and callbacks here.
GoalStopper = tune_watch.SearchStopper
PendingWatch, ProgressCallback = tune_watch.PendingWatch, tune_watch.ProgressCallback


def _train_and_relay(
    p: TrainPlan,
    trainer_class: type[Any],
    loop: Loop,
    loop_config: dict[str, Any],
    datasets: Any,
    worker_env: dict[str, str],
) -> None:
    """Run the trial's own Ray Train run and relay each of its reports, with its checkpoint, to Tune."""
    from ray.util.queue import Empty

    from raydt import ray_config
    from raydt.data import dataset_config
    from raydt.errors import NodePreemptedError
    from raydt.experiment import ledger
    from raydt.progress.relay import RelayCallback, local_queue
    from raydt.ray_compat import train as ray_compat

    ray_compat.retry_system_failures_only()
    context = ray.tune.get_context()
    queue = local_queue()  # on the trial's node: a lost worker node must not take the relay with it
    relayed = RelayCallback(queue)
    reserved = Reserved.of(p.workers.resources)  # each worker samples itself, under the trial's id
    trainer = trainer_class(
        watched(loop, p.experiment_path, context.get_trial_id(), reserved, in_train_worker=True),
        train_loop_config=loop_config,
        scaling_config=ray_config.scaling(p.workers),
        run_config=ray_config.train_run(
            p,
            [relayed, ray_compat.PreemptionEvents(relayed.send)],
            worker_env,
            name=f"{context.get_experiment_name()}-{context.get_trial_id()}",
            storage_path=f"{p.experiment_path}/train_runs",
            keep_latest=1,
            controller_failure_limit=0,
        ),
        **({"datasets": datasets, "dataset_config": dataset_config()} if datasets else {}),
    )
    box: dict[str, BaseException] = {}

    def fit() -> None:
        try:
            trainer.fit()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the trial thread below
            box["error"] = exc

    thread = threading.Thread(target=fit, name="raydt-trial-fit", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = queue.get(block=True, timeout=0.2)
            except Empty:
                if not thread.is_alive():
                    break
                continue
            if item.get("event") == "preempted":  # the trial's Train run restarted after a drain: the search lists it
                error = f"a node of the trial's workers was drained for preemption: {item.get('error', '')}"[:300]
                retry = {
                    "event": "retry",
                    "trial": context.get_trial_id(),
                    "code": NodePreemptedError.code,
                    "error": error,
                }
                ledger.append(p.experiment_path, retry)
            if item.get("event"):
                continue
            path = item.get("checkpoint")
            ckpt = ray.tune.Checkpoint.from_directory(path) if path else None
            ray.tune.report(item["metrics"], checkpoint=ckpt)
        thread.join()
    finally:
        queue.shutdown(force=True)
    if "error" in box:
        raise box["error"]


def build_trainable(
    plan: TunePlan,
    loop: Loop,
    trainer_class: type[Any] | None,
    worker_env: dict[str, str],
    datasets: dict[str, Any] | None = None,
) -> Any:
    """The Tune trainable for ``plan`` with its explicit resources (and dataConfig's datasets, put in the
    object store once and handed to every trial)."""
    p = plan.train
    info = p.framework if p.trainer is None else None
    fresh = FreshLoop(
        loop,
        None if p.trainer is None or p.trainer.is_file else p.trainer.target,
        by_value=p.trainer is not None and p.trainer.is_file,
    )
    found = _starts(plan)
    if plan.kind == "tune":
        fn = tune_function(fresh, p.loop_config, p.experiment_path, Reserved.of(p.workers.resources), found)
        resources: dict[str, float] = dict(p.workers.resources)
    elif not plan.distributed:
        reserved = Reserved.of(p.workers.resources)
        module = p.framework.trainer_module
        fn = local_trial(fresh, p.loop_config, info, worker_env, p.experiment_path, reserved, found, module)
        resources = dict(p.workers.resources)
    else:
        assert trainer_class is not None
        fn = distributed_trial(loop, p, info, trainer_class, worker_env, found)
        resources = dict(TRIAL_DRIVER)
    if datasets is not None:
        fn = ray.tune.with_parameters(fn, datasets=datasets)
    return ray.tune.with_resources(fn, {k: v for k, v in resources.items() if v} or dict(TRIAL_DRIVER))


def _starts(plan: TunePlan) -> Starts:
    """warmStart.initFromBest: the earlier search's finished trials with a checkpoint (read once, in the driver)."""
    from raydt.search.starts import starts

    s, t = plan.search, plan.train
    return tuple(starts(s.warm_start, t.metric, t.metric_mode)) if s.init_from_best and s.warm_start else ()


#: A distributed trial's own process only waits on its workers: it asks for no CPU (its workers' CPUs are what
#: counts: 2 workers x 1 CPU run on 2 CPUs), only for a little of Ray's ``memory`` resource, which every node
#: has plenty of, so that Tune still counts and places it.
TRIAL_DRIVER = {"memory": 67_108_864}  # 64 MiB
