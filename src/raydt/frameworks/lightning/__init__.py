"""PyTorch Lightning on Ray Train: the user's ``LightningModule`` (``trainConfig.model``) run by Lightning's own
``Trainer`` on every worker of a ``TorchTrainer``, through Ray's Lightning integration (``RayDDPStrategy``,
``RayLightningEnvironment``, ``prepare_trainer``, a ``RayTrainReportCallback``). No built-in model: the
framework needs ``trainConfig.model``.

The loop's own keys and their defaults are declared here, as plain data, so validation and ``raydt schema``
read them without importing torch or Lightning. Every other trainLoopConfig key belongs to the module (a class's
keyword argument, e.g. ``lr`` or ``hidden``, or read by the user's function from the config dict).
"""

from __future__ import annotations

from raydt.frameworks.base import FrameworkInfo

#: raydt's keys for the Lightning Trainer (the one place their defaults live); a subset of the PyTorch loop's
#: names, with the same meaning: batchSize (DataLoaders raydt builds from Datasets), gradClip
#: (gradient_clip_val; 0: off), accumulate (accumulate_grad_batches), patience (EarlyStopping on the run's
#: metric; 0: off), precision, seed.
LOOP_PARAMS: dict[str, object] = {
    "epochs": 5,
    "batchSize": 32,
    "gradClip": 0.0,
    "accumulate": 1,
    "patience": 0,
    "precision": "fp32",
    "seed": 0,
}
#: raydt's precision names -> Lightning's (fp16 needs GPU workers: refused on CPU by validation)
PRECISIONS = {"fp32": "32-true", "bf16": "bf16-mixed", "fp16": "16-mixed"}

INFO = FrameworkInfo(
    name="lightning",
    package=__name__,
    trainer_class="ray.train.torch:TorchTrainer",
    extra="lightning",
    modules=("torch", "lightning"),
    distributions=("torch", "lightning"),
    default_metric="val_loss",
    default_mode="min",
    # epoch and step, plus what the module logs with self.log (val_loss, the default metric, by convention)
    builtin_metrics=("val_loss", "epoch", "step"),
    builtin_params=dict(LOOP_PARAMS),
    param_aliases={"batch_size": "batchSize"},
    iteration_name="epoch",
    spec_checks="raydt.spec.lightning_checks:check",  # the user's LightningModule (trainConfig.model), required
    description="Your LightningModule (trainConfig.model) under Ray Train's TorchTrainer with Ray's Lightning "
    "integration (RayDDPStrategy); no built-in model",
)
