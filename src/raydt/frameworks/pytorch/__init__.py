"""PyTorch on Ray Train: ``TorchTrainer`` (DDP); built-in: an MLP on scikit-learn's digits.

With ``trainConfig.model`` the same framework runs the user's own ``nn.Module`` through raydt's loop
(the ``user`` sub-package); its hyperparameters, losses and optimizers are declared here, as plain data, so validation
and ``raydt schema`` read them without importing torch.
"""

from __future__ import annotations

from raydt.frameworks.base import FrameworkInfo

INFO = FrameworkInfo(
    name="pytorch",
    package=__name__,
    trainer_class="ray.train.torch:TorchTrainer",
    extra="pytorch",
    modules=("torch",),
    distributions=("torch",),
    default_metric="val_loss",
    default_mode="min",
    builtin_metrics=("train_loss", "val_loss", "val_accuracy", "epoch"),
    builtin_params={"lr": 0.01, "batchSize": 32, "epochs": 5, "hiddenSize": 64},
    param_aliases={"batch_size": "batchSize", "hidden_size": "hiddenSize", "learning_rate": "lr"},
    iteration_name="epoch",
    probe="raydt.frameworks.pytorch.user.probe:check",  # a user model's one batch before Ray starts
    starts_from_weights=True,
    description="Ray Train TorchTrainer (DDP); built-in: MLP on scikit-learn's digits",
)

#: raydt's loop for a user model (trainConfig.model): its trainLoopConfig keys and their defaults (the one place
#: they live). Every other trainLoopConfig key belongs to the model (a class's keyword argument, or read by the
#: user's function from the config dict).
USER_PARAMS: dict[str, object] = {
    "lr": 0.001,
    "batchSize": 32,
    "epochs": 5,
    "optimizer": "adam",
    "weightDecay": 0.0,
    "momentum": 0.0,
    "gradClip": 0.0,  # max gradient norm; 0: off
    "accumulate": 1,  # batches whose gradients add up before one optimizer step
    "schedule": "none",
    "warmupEpochs": 0,  # linear warmup of the learning rate (with any schedule but onecycle)
    "patience": 0,  # early stopping: epochs without a better metric before the run ends; 0: off
    "precision": "fp32",
    "seed": 0,
}
#: LR schedules, stepped every optimizer step: cosine (to 0 at the end), step (x0.1 at 1/3 and 2/3 of the
#: steps), onecycle (PyTorch's OneCycleLR with lr as its peak)
SCHEDULES = ("none", "cosine", "step", "onecycle")
#: trainConfig.loss names -> (torch.nn class, classification: whether val_accuracy is reported)
LOSSES: dict[str, tuple[str, bool]] = {
    "cross_entropy": ("CrossEntropyLoss", True),
    "bce": ("BCEWithLogitsLoss", True),  # on logits: one output per row, targets 0/1
    "mse": ("MSELoss", False),
    "l1": ("L1Loss", False),
    "huber": ("HuberLoss", False),
}
OPTIMIZERS = ("adam", "adamw", "sgd")
#: fp16 needs a GPU (autocast on CPU supports bf16): refused by validation on CPU
PRECISIONS = ("fp32", "bf16", "fp16")
USER_METRICS = ("epoch", "train_loss", "val_loss", "val_accuracy")
