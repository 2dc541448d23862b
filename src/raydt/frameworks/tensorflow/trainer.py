"""Built-in TensorFlow trainer: a Keras MLP on digits under ``MultiWorkerMirroredStrategy``.

Hyperparameters (defaults in ``INFO``): ``lr``, ``batchSize`` (global), ``epochs``, ``hiddenSize``. Reports
``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` and ``epoch`` every epoch with a checkpoint (weights and
the standardisation statistics) and resumes from ``ray.train.get_checkpoint()``. Runs legacy Keras
(``tf_keras``): ``INFO.worker_env`` sets ``TF_USE_LEGACY_KERAS=1`` for the workers.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from raydt.frameworks.tensorflow import INFO

WEIGHTS_FILE = "model.weights.h5"  # Keras weights beside raydt_meta.json


def build_model(input_size: int, hidden_size: int, num_classes: int) -> Any:
    """The Keras MLP (also used to load a checkpoint for prediction)."""
    import tf_keras as keras

    return keras.Sequential(
        [
            keras.layers.InputLayer(input_shape=(input_size,)),
            keras.layers.Dense(hidden_size, activation="relu"),
            keras.layers.Dense(hidden_size, activation="relu"),
            keras.layers.Dense(num_classes),
        ]
    )


# A per-worker loop reads top to bottom, as Ray Train's docs write one (data, model, resume, train,
# report); its pieces only make sense in this order, hence its length.
def train_loop(config: dict[str, Any]) -> None:
    """Ray Train per-worker loop."""
    import ray.train
    import tensorflow as tf
    import tf_keras as keras

    from raydt.frameworks.checkpoint_format import read_meta
    from raydt.frameworks.common import Drain, checkpoint_every, due, starting_checkpoint
    from raydt.frameworks.data import checkpoint_meta, digits, load, write_checkpoint_files

    hp = INFO.hyperparameters(config)
    lr, batch_size, epochs, hidden = float(hp["lr"]), int(hp["batchSize"]), int(hp["epochs"]), int(hp["hiddenSize"])
    tf.keras.utils.set_random_seed(int(config.get("seed", 0)))

    data = load(config, digits)  # dataConfig: this worker's shard (already sharded: no auto-sharding below)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = build_model(data.x_train.shape[1], hidden, data.num_classes)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=lr),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    start = 0
    checkpoint = starting_checkpoint(config)
    every = checkpoint_every(config)
    if checkpoint is not None:
        with checkpoint.as_directory() as ckpt_dir:
            model.load_weights(os.path.join(ckpt_dir, WEIGHTS_FILE))
            start = int((read_meta(ckpt_dir) or {})["epoch"])

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA if data.mean is not None else tf.data.experimental.AutoShardPolicy.OFF
    )
    train_ds = (
        tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train))
        .shuffle(len(data.y_train), seed=0)
        .batch(batch_size)
        .with_options(options)
    )
    ctx = ray.train.get_context()
    preempting = Drain()  # a node of the run drained for preemption: checkpoint each epoch, hold near the deadline
    for epoch in range(start, epochs):
        preempting.hold()  # an epoch that would end too close to the drain's deadline is not started
        history = model.fit(train_ds, epochs=1, verbose=0)
        val_loss, val_acc = model.evaluate(data.x_val, data.y_val, verbose=0, batch_size=512)
        metrics = {
            "epoch": epoch + 1,
            "loss": float(history.history["loss"][-1]),
            "accuracy": float(history.history["accuracy"][-1]),
            "val_loss": float(val_loss),
            "val_accuracy": float(val_acc),
        }
        with tempfile.TemporaryDirectory() as tmp:
            # every rank, every epoch (a collective): checkpoint now while a node is drained for preemption
            save = preempting() or due(epoch + 1, epochs, every)
            if save:
                model.save_weights(os.path.join(tmp, WEIGHTS_FILE))  # every worker saves (collective op)
            ckpt = None
            if ctx.get_world_rank() == 0 and save:
                meta = checkpoint_meta(
                    INFO.name,
                    __name__,
                    data,
                    config,
                    epoch=epoch + 1,
                    inputSize=int(data.x_train.shape[1]),
                    hiddenSize=hidden,
                    config={"lr": lr, "batchSize": batch_size, "epochs": epochs, "hiddenSize": hidden},
                )
                write_checkpoint_files(tmp, meta, config)
                ckpt = ray.train.Checkpoint.from_directory(tmp)
            ray.train.report(metrics, checkpoint=ckpt)
