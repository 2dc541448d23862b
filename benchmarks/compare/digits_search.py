"""Search-quality comparisons on the digits MLP (the same model, data and space as raydt's built-in):
Ray Tune's default search (random + FIFO) and Optuna (TPE + MedianPruner), each stopping once a trial
reaches the target validation accuracy.

    python benchmarks/compare/digits_search.py ray|optuna SEED TARGET MAX_TRIALS EPOCHS
"""

import json
import os
import sys
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from raydt.frameworks.data import digits
from raydt.frameworks.pytorch.trainer import build_model

system, seed, target, max_trials, epochs = (
    sys.argv[1],
    int(sys.argv[2]),
    float(sys.argv[3]),
    int(sys.argv[4]),
    int(sys.argv[5]),
)
start = time.perf_counter()


def train(lr: float, batch_size: int, hidden: int, report) -> None:
    """The built-in trainer's math in one process; report(epoch, val_accuracy) -> True to stop."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = digits()
    model = build_model(data.x_train.shape[1], hidden, data.num_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(
        TensorDataset(torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)),
        batch_size=batch_size,
        shuffle=True,
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            acc = float((model(torch.from_numpy(data.x_val)).argmax(1) == torch.from_numpy(data.y_val)).float().mean())
        if report(epoch + 1, acc):
            return


if system == "ray":
    import ray
    from ray import tune
    from ray.tune.search.basic_variant import BasicVariantGenerator

    class Goal(tune.Stopper):
        reached = False

        def __call__(self, trial_id, result):
            Goal.reached = Goal.reached or result["val_accuracy"] >= target
            return Goal.reached

        def stop_all(self):
            return Goal.reached

    def trainable(config):
        train(config["lr"], config["batchSize"], config["hiddenSize"], lambda e, a: tune.report({"val_accuracy": a}))

    ray.init(num_cpus=2)
    grid = tune.Tuner(
        trainable,
        param_space={
            "lr": tune.loguniform(1e-4, 0.3),
            "batchSize": tune.choice([16, 32, 64, 128]),
            "hiddenSize": tune.choice([8, 16, 32, 64, 128]),
        },
        tune_config=tune.TuneConfig(
            metric="val_accuracy",
            mode="max",
            num_samples=max_trials,
            search_alg=BasicVariantGenerator(random_state=seed),
        ),
        run_config=tune.RunConfig(storage_path=os.path.abspath("ray_results"), stop=Goal(), verbose=0),
    ).fit()
    best = grid.get_best_result().metrics["val_accuracy"]
    trials = len(grid)
else:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        best = [0.0]

        def report(epoch, acc):
            best[0] = max(best[0], acc)
            trial.report(acc, epoch)
            if acc >= target:
                trial.study.stop()
                return True
            if trial.should_prune():
                raise optuna.TrialPruned()
            return False

        train(
            trial.suggest_float("lr", 1e-4, 0.3, log=True),
            trial.suggest_categorical("batchSize", [16, 32, 64, 128]),
            trial.suggest_categorical("hiddenSize", [8, 16, 32, 64, 128]),
            report,
        )
        return best[0]

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed), pruner=optuna.pruners.MedianPruner()
    )
    study.optimize(objective, n_trials=max_trials, n_jobs=2)
    best = max((t.value for t in study.trials if t.value is not None), default=0.0)
    best = max([best] + [max(t.intermediate_values.values(), default=0.0) for t in study.trials])
    trials = len(study.trials)
print(
    json.dumps(
        {"numTrials": trials, "bestMetric": best, "reached": best >= target, "inScriptS": time.perf_counter() - start}
    )
)
