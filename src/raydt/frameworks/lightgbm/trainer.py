"""Built-in LightGBM trainer: a classifier on breast cancer, data-parallel across Ray Train workers.

Hyperparameters carry LightGBM's own names (defaults in ``INFO``): ``num_boost_round``, ``learning_rate``,
``num_leaves``, ``min_data_in_leaf``, ``feature_fraction``. Each worker trains on its own shard of the
training rows; with more than one worker LightGBM's data-parallel tree learner combines them over the
network Ray Train's ``LightGBMTrainer`` sets up (``get_network_params``). Every round reports
``train_logloss``, ``train_error``, ``val_logloss``, ``val_error`` (binary or multi-class) with a checkpoint
(the booster as ``model.txt``, saved by Ray's ``RayTrainReportCallback``, beside ``raydt_meta.json``), and a
restarted run continues from the last booster.
"""

from __future__ import annotations

from typing import Any

from raydt.frameworks.lightgbm import INFO

MODEL_FILE = "model.txt"  # the booster (LightGBM's text format)


def train_loop(config: dict[str, Any]) -> None:
    """Ray Train per-worker loop."""
    import lightgbm
    import ray.train
    from ray.train.lightgbm import RayTrainReportCallback

    from raydt.frameworks.common import starting_checkpoint
    from raydt.frameworks.data import breast_cancer, checkpoint_meta, load

    hp = INFO.hyperparameters(config)
    rounds = int(hp["num_boost_round"])
    data = load(config, breast_cancer)  # dataConfig: this worker's shard; else the bundled data, split by rank
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    x, y = data.x_train, data.y_train
    if data.mean is not None:  # the bundled data: every worker holds all of it, each trains on its part
        x, y = x[rank::world], y[rank::world]
    dtrain = lightgbm.Dataset(x, label=y, free_raw_data=False)
    dval = lightgbm.Dataset(data.x_val, label=data.y_val, reference=dtrain, free_raw_data=False)

    booster = None
    checkpoint = starting_checkpoint(config)
    if checkpoint is not None:
        booster = RayTrainReportCallback.get_model(checkpoint, filename=MODEL_FILE)
    done = booster.current_iteration() if booster is not None else 0
    if done >= rounds:
        return
    meta = checkpoint_meta(
        INFO.name,
        __name__,
        data,
        config,
        numFeatures=int(data.x_train.shape[1]),
        config={k: v for k, v in hp.items() if isinstance(v, int | float | str)},
    )
    lightgbm.train(
        lightgbm_params(hp, data.num_classes, int(config.get("seed", 0)), world),
        dtrain,
        num_boost_round=rounds - done,
        valid_sets=[dtrain, dval],
        valid_names=["train", "val"],
        init_model=booster,
        callbacks=[_report_callback(config, meta, binary=data.num_classes == 2)],
    )


def lightgbm_params(hp: dict[str, Any], num_classes: int, seed: int, world: int) -> dict[str, Any]:
    """LightGBM's parameters for the hyperparameters ``hp`` (with ``world`` > 1 workers: data-parallel over
    the network Ray Train's LightGBMTrainer set up)."""
    binary = num_classes == 2
    params: dict[str, Any] = {
        "objective": "binary" if binary else "multiclass",
        "metric": ["binary_logloss", "binary_error"] if binary else ["multi_logloss", "multi_error"],
        "learning_rate": float(hp["learning_rate"]),
        "num_leaves": int(hp["num_leaves"]),
        "min_data_in_leaf": int(hp["min_data_in_leaf"]),
        "feature_fraction": float(hp["feature_fraction"]),
        "seed": seed,
        "num_threads": 1,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }
    if not binary:
        params["num_class"] = num_classes
    if world > 1:
        from ray.train.lightgbm import get_network_params

        params.update(tree_learner="data_parallel", pre_partition=True, **loopback_network(get_network_params()))
    return params


def loopback_network(network: dict[str, Any]) -> dict[str, Any]:
    """Ray's network parameters, with a machine list that is all loopback written as 127.0.0.1.

    ``raydt cluster up`` gives each raylet of this machine its own 127.0.0.x; LightGBM finds its own entry in
    ``machines`` only by an interface address (``lo`` holds 127.0.0.1), and fails with "Machine list file doesn't
    contain the local machine" otherwise. Every 127.0.0.x is this machine, so the ports alone tell the workers apart.
    """
    entries = [m.strip() for m in str(network.get("machines", "")).split(",") if m.strip()]
    hosts = [entry.rsplit(":", 1)[0] for entry in entries]
    if not entries or not all(h.startswith("127.") for h in hosts):
        return network
    ports = [entry.rsplit(":", 1)[1] for entry in entries]
    return {**network, "machines": ",".join(f"127.0.0.1:{port}" for port in ports)}


def _report_callback(config: dict[str, Any], meta: dict[str, Any], binary: bool) -> Any:
    """Ray's RayTrainReportCallback, reporting raydt's metric names; each checkpoint also gets raydt_meta.json
    and the fitted dataConfig pipeline."""
    from ray.train.lightgbm import RayTrainReportCallback

    from raydt.frameworks.common import checkpoint_every
    from raydt.frameworks.data import write_checkpoint_files
    from raydt.ray_compat import report_callback_with_files

    def add_files(path: str) -> None:
        write_checkpoint_files(path, meta, config)

    kind = "binary" if binary else "multi"
    return report_callback_with_files(
        RayTrainReportCallback,
        add_files,
        metrics={  # the same names for binary and multi-class, as the XGBoost built-in reports them
            "train_logloss": f"train-{kind}_logloss",
            "train_error": f"train-{kind}_error",
            "val_logloss": f"val-{kind}_logloss",
            "val_error": f"val-{kind}_error",
        },
        filename=MODEL_FILE,
        frequency=checkpoint_every(config),
    )
