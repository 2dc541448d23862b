"""TensorFlow on Ray Train: ``TensorflowTrainer`` with ``MultiWorkerMirroredStrategy``; built-in: a Keras MLP
on scikit-learn's digits.

Keras 3 (TF 2.21's default) fails under MultiWorkerMirroredStrategy on Ray Train, so workers run legacy
Keras (the ``tf-keras`` package) via ``TF_USE_LEGACY_KERAS=1``, set before TensorFlow imports.
"""

from __future__ import annotations

from raydt.frameworks.base import FrameworkInfo

INFO = FrameworkInfo(
    name="tensorflow",
    package=__name__,
    trainer_class="ray.train.tensorflow:TensorflowTrainer",
    extra="tensorflow",
    modules=("tensorflow", "tf_keras"),
    distributions=("tensorflow-cpu", "tensorflow", "tf-keras"),
    default_metric="val_loss",
    default_mode="min",
    builtin_metrics=("loss", "accuracy", "val_loss", "val_accuracy", "epoch"),
    builtin_params={"lr": 0.005, "batchSize": 32, "epochs": 5, "hiddenSize": 64},
    param_aliases={"batch_size": "batchSize", "hidden_size": "hiddenSize", "learning_rate": "lr"},
    iteration_name="epoch",
    worker_env={"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"},
    description="Ray Train TensorflowTrainer (MultiWorkerMirroredStrategy, legacy Keras); built-in: MLP on digits",
)
