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
    from ray.train.lightgbm import RayTrainReportCallback

    from raydt.frameworks import gbdt

    hp = INFO.hyperparameters(config)
    rounds = int(hp["num_boost_round"])
    data, x, y, world = gbdt.worker_rows(config)  # dataConfig: this worker's shard; else its part of the bundled data
    dtrain = lightgbm.Dataset(x, label=y, free_raw_data=False)
    dval = lightgbm.Dataset(data.x_val, label=data.y_val, reference=dtrain, free_raw_data=False)
    booster, done = gbdt.resumed(config, RayTrainReportCallback, lambda b: b.current_iteration(), filename=MODEL_FILE)
    if done >= rounds:
        return
    meta = gbdt.checkpoint_meta(INFO.name, __name__, data, config, hp)
    kind = "binary" if data.num_classes == 2 else "multi"
    metrics = {  # the same names for binary and multi-class, as the XGBoost built-in reports them
        "train_logloss": f"train-{kind}_logloss",
        "train_error": f"train-{kind}_error",
        "val_logloss": f"val-{kind}_logloss",
        "val_error": f"val-{kind}_error",
    }
    lightgbm.train(
        lightgbm_params(hp, data.num_classes, int(config.get("seed", 0)), world),
        dtrain,
        num_boost_round=rounds - done,
        valid_sets=[dtrain, dval],
        valid_names=["train", "val"],
        init_model=booster,
        callbacks=[gbdt.report_callback(RayTrainReportCallback, config, meta, metrics, filename=MODEL_FILE)],
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
