"""PyTorch on Ray Train: ``TorchTrainer`` (DDP); built-in: an MLP on scikit-learn's digits."""

from __future__ import annotations

from raydt.frameworks.base import FrameworkInfo

INFO = FrameworkInfo(
    name="pytorch",
    package=__name__,
    trainer_class="ray.train.torch:TorchTrainer",
    extra="pytorch",
    modules=("torch",),
    default_metric="val_loss",
    default_mode="min",
    builtin_metrics=("train_loss", "val_loss", "val_accuracy", "epoch"),
    builtin_params={"lr": 0.01, "batchSize": 32, "epochs": 5, "hiddenSize": 64},
    param_aliases={"batch_size": "batchSize", "hidden_size": "hiddenSize", "learning_rate": "lr"},
    iteration_name="epoch",
    description="Ray Train TorchTrainer (DDP); built-in: MLP on scikit-learn's digits",
)
