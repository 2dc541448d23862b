"""The shape every framework has: its info and declared capabilities, and the adapter that maps it onto Ray.

A framework is one package, ``raydt/frameworks/<name>/``, with the same three modules:

- ``__init__.py``: ``INFO``, a :class:`FrameworkInfo` (plain data: importing it imports no Ray and no
  framework), read by the registry, validation, ``raydt schema``, the CLI help, preflight and the runners;
- ``trainer.py``: ``train_loop(config)``, the built-in default trainer (a Ray Train per-worker loop);
- ``predictor.py``: ``load(checkpoint_dir, meta)``, the built-in checkpoint's model as a function from
  preprocessed rows (float32) to class probabilities, for serving.

:class:`FrameworkAdapter` reaches those modules by these names, so every framework has one adapter shape.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

MetricMode = Literal["min", "max"]
#: How a Tune trial runs a trainer: a Ray Train loop inside the trial (1 worker), a Ray Train run of
#: N > 1 workers started by the trial, or a Ray Tune function trainable (``trainerKind: tune``).
TrialShape = Literal["in-trial", "distributed", "function"]
TRIAL_SHAPES: tuple[TrialShape, ...] = ("in-trial", "distributed", "function")


@dataclass(frozen=True)
class FrameworkInfo:
    """What raydt knows about a framework before importing anything heavy."""

    name: str
    package: str  # "raydt.frameworks.<name>": holds trainer.py and predictor.py
    trainer_class: str  # "module:Class": the Ray Train trainer (a DataParallelTrainer)
    extra: str  # pip extra that installs the framework: ray-distributed-trainer[<extra>]
    modules: tuple[str, ...]  # importable modules the framework needs
    #: the pip distributions behind it, whose installed versions ``raydt doctor`` and the report list
    distributions: tuple[str, ...]
    default_metric: str
    default_mode: MetricMode
    builtin_metrics: tuple[str, ...]  # metrics the built-in default trainer reports each iteration
    #: the built-in trainer's hyperparameters and their defaults (the one place the defaults live)
    builtin_params: dict[str, object] = field(default_factory=dict)
    param_aliases: dict[str, str] = field(default_factory=dict)  # alias -> hyperparameter name
    param_max: dict[str, float] = field(default_factory=dict)  # inclusive upper bounds of some params
    param_min: dict[str, float] = field(default_factory=dict)  # inclusive lower bounds above 0 of some params
    epochs_param: str = "epochs"  # what trainConfig.epochs sets (and ASHA's default maxT follows)
    iteration_name: str = "epoch"  # what one report of the built-in trainer is called (the live view's unit)
    worker_env: dict[str, str] = field(default_factory=dict)  # set on every worker before the framework imports
    # -- capabilities, checked by validation (spec.framework_checks) and preflight before anything launches
    supports_gpu: bool = True  # workers (and replicas) may hold GPUs: config.useGpu
    distributed: bool = True  # more than one training worker: config.numWorkers > 1
    trial_shapes: tuple[TrialShape, ...] = TRIAL_SHAPES  # what a Tune trial may run
    serves_builtin: bool = True  # raydt's predictor serves its built-in checkpoints (predictor.py)
    #: its loops can start a new trial from another trial's checkpoint, weights only (warmStart.initFromBest)
    starts_from_weights: bool = False
    #: what its dataConfig holds: "table" (a label and feature columns) or "text" (rows tokenized: dataConfig.text)
    data_kind: Literal["table", "text"] = "table"
    #: "module:function(loop_config, search_space)" run in the driver before Ray starts: checks of the user's
    #: own code that need the framework but no cluster (e.g. one batch through a user model); "" for none
    probe: str = ""
    #: "module:function(spec, base_dirs, wait) -> list[SpecIssue]": the framework's own rules of a trainConfig
    #: without a trainerPath, run by validation instead of the built-in trainer's (e.g. Lightning's module); ""
    #: for none. Named, not imported: validation imports it, a run never does.
    spec_checks: str = ""
    description: str = ""

    @property
    def trainer_module(self) -> str:
        """The module of ``trainer_class`` (``ray.train.torch``): what a Ray Train worker of this framework loads."""
        return self.trainer_class.partition(":")[0]

    def hyperparameters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The built-in trainer's effective config: the defaults, overlaid with ``given`` (aliases folded in;
        other keys, such as raydt's reserved one, pass through)."""
        config: dict[str, Any] = dict(self.builtin_params)
        for key, value in given.items():
            config[self.param_aliases.get(key, key)] = value
        return config


class FrameworkAdapter:
    """Maps a framework onto Ray Train and Ray Serve: its trainer class, built-in loop, worker environment and
    checkpoint loader, all found through its info and its package's modules."""

    def __init__(self, info: FrameworkInfo) -> None:
        self.info = info

    @property
    def driver_modules(self) -> tuple[str, ...]:
        """Modules the driver imports to build the trainer (warmed while Ray starts)."""
        return (self.info.trainer_module,)

    def trainer_class(self) -> type[Any]:
        """The Ray Train ``DataParallelTrainer`` subclass (e.g. ``TorchTrainer``)."""
        name = self.info.trainer_class.partition(":")[2]
        cls: type[Any] = getattr(importlib.import_module(self.info.trainer_module), name)
        return cls

    def builtin_loop(self) -> Callable[[dict[str, Any]], None]:
        """The per-worker loop of the built-in default trainer (``<package>.trainer.train_loop``)."""
        loop: Callable[[dict[str, Any]], None] = importlib.import_module(f"{self.info.package}.trainer").train_loop
        return loop

    def worker_env(self) -> dict[str, str]:
        """Environment variables every training worker needs (set before the framework imports)."""
        return dict(self.info.worker_env)

    def probe(self, loop_config: dict[str, Any], search_space: Any = None) -> None:
        """The framework's checks of the user's code before Ray starts (``FrameworkInfo.probe``), if any."""
        if self.info.probe:
            module, _, name = self.info.probe.partition(":")
            getattr(importlib.import_module(module), name)(loop_config, search_space)

    def load_model(self, checkpoint_dir: str, meta: dict[str, Any]) -> Callable[[Any], Any]:
        """A built-in checkpoint's model: preprocessed rows (float32 array) -> class probabilities
        (``<package>.predictor.load``)."""
        load = importlib.import_module(f"{self.info.package}.predictor").load
        model: Callable[[Any], Any] = load(checkpoint_dir, meta)
        return model
