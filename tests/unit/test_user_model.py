"""trainConfig.model (a user's plain PyTorch model in raydt's loop): validation without Ray or torch, the plan, and
the loop's pieces (model building, data, loss, epochs, metrics, checkpoint serving) on real torch, without Ray."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from raydt import plan
from raydt.errors import UserCodeError
from raydt.frameworks.common import RESERVED_KEY
from raydt.spec import load
from tests.unit.helpers import issue_lines as issues

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plain-pytorch"
MODELS, DATA = f"{EXAMPLE}/models.py", f"{EXAMPLE}/data.py"


def spec(mode: str = "train", **train: Any) -> dict[str, Any]:
    tc = {"model": f"{MODELS}:MLP", "data": f"{DATA}:digits_flat", **train}
    return {"mode": mode, "config": {}, "trainConfig": {k: v for k, v in tc.items() if v is not None}}


def test_the_examples_validate_and_plan_with_the_loops_defaults() -> None:
    for name in ("spec.yaml", "tune.yaml", "cnn.yaml", "regression.yaml", "fsdp.yaml"):
        load(EXAMPLE / name)
    p = plan.train(load(spec(trainLoopConfig={"hidden": 32, "optimizer": "sgd"}, epochs=3)))
    assert p.trainer is None  # the pytorch framework's loop runs, and hands over to user.loop
    refs = p.loop_config[RESERVED_KEY]["userModel"]
    assert refs == {
        **{"model": f"{MODELS}:MLP", "data": f"{DATA}:digits_flat", "loss": "cross_entropy", "metrics": []},
        **{"metric": "val_loss", "mode": "min"},  # what early stopping (patience) watches
        "strategy": "ddp",
    }
    t = load(EXAMPLE / "tune.yaml")
    assert plan.tune(t).train.loop_config[RESERVED_KEY]["userModel"]["metric"] == "val_accuracy"
    assert p.loop_config["hidden"] == 32 and p.loop_config["optimizer"] == "sgd" and p.loop_config["epochs"] == 3
    assert p.loop_config["lr"] == 0.001 and "hiddenSize" not in p.loop_config  # not the built-in MLP's keys


def test_relative_references_resolve_against_the_spec_folder(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    p = plan.train(load(EXAMPLE / "spec.yaml"))
    assert p.loop_config[RESERVED_KEY]["userModel"]["model"] == f"{MODELS}:MLP"


@pytest.mark.parametrize(
    ("changes", "path", "needles"),
    [
        ({"model": f"{MODELS}:Nope"}, "trainConfig.model", ["'Nope' is not defined", "MLP, SmallCNN"]),
        ({"model": "missing.py:Net"}, "trainConfig.model", ["file does not exist"]),
        ({"data": None}, "trainConfig.data", ["is required with trainConfig.model"]),
        ({"data": f"{MODELS}:MLP"}, "trainConfig.data", ["must name a plain function (it is a class)"]),
        ({"loss": "crossentropy"}, "trainConfig.loss", ["is not a known loss", "cross_entropy"]),
        ({"loss": f"{MODELS}:MLP"}, "trainConfig.loss", ["plain function"]),
        ({"framework": "xgboost"}, "trainConfig.model", ["pytorch framework, not 'xgboost'"]),
        ({"trainerPath": f"{MODELS}:build_regressor"}, "trainConfig.model", ["excludes trainConfig.trainerPath"]),
        ({"trainLoopConfig": {"hiden": 8}}, "trainConfig.trainLoopConfig.hiden", ["keyword argument", "'hidden'"]),
        ({"trainLoopConfig": {"optimizer": "adamx"}}, "trainConfig.trainLoopConfig.optimizer", ["adam, adamw"]),
        ({"trainLoopConfig": {"lr": 0}}, "trainConfig.trainLoopConfig.lr", ["must be > 0"]),
        ({"trainLoopConfig": {"batchSize": 1.5}}, "trainConfig.trainLoopConfig.batchSize", ["an integer"]),
        ({"trainLoopConfig": {"precision": "fp16"}}, "trainConfig.trainLoopConfig.precision", ["needs GPU", "bf16"]),
    ],
)
def test_bad_model_specs_are_refused_at_their_path(changes: dict[str, Any], path: str, needles: list[str]) -> None:
    found = [i for i in issues(spec(**changes)) if i.startswith(path + ":")]
    assert found, issues(spec(**changes))
    assert all(any(n in i for i in found) for n in needles), found


def test_keys_of_the_model_loop_need_a_model() -> None:
    s = {"mode": "train", "config": {}, "trainConfig": {"loss": "mse", "data": f"{DATA}:diabetes"}}
    assert {i.split(":")[0] for i in issues(s)} == {"trainConfig.loss", "trainConfig.data"}


def test_a_class_needs_its_required_keywords_from_the_config_or_the_search_space(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(
        textwrap.dedent("""
        from torch import nn
        class Net(nn.Module):
            def __init__(self, width, depth=1):
                super().__init__()
        """)
    )
    s = spec(model=f"{tmp_path}/net.py:Net")
    assert any("Net() needs keyword argument(s) width" in i for i in issues(s))
    load({**s, "trainConfig": {**s["trainConfig"], "trainLoopConfig": {"width": 8}}})
    tune = {**spec("tune", model=f"{tmp_path}/net.py:Net"), "tuneConfig": {"searchSpace": {"width": 8}}}
    load(tune)
    bad = {
        **tune,
        "tuneConfig": {"searchSpace": {"width": 8, "widht": 2, "optimizer": {"type": "choice", "values": ["lbfgs"]}}},
    }
    found = issues(bad)
    assert any(i.startswith("tuneConfig.searchSpace.widht:") and "'width'" in i for i in found), found
    assert any(i.startswith("tuneConfig.searchSpace.optimizer.values[0]:") for i in found), found


# -- the loop's pieces, on real torch (no Ray) ---------------------------------------------------------------------


def test_models_are_built_from_the_config_by_name_or_by_function() -> None:
    from raydt.frameworks.pytorch.user.code import build_model

    config = {"hidden": 16, "layers": 3, "lr": 0.1, RESERVED_KEY: {"x": 1}}
    mlp = build_model(f"{MODELS}:MLP", config)
    linears = [m for m in mlp.modules() if type(m).__name__ == "Linear"]
    assert [lin.out_features for lin in linears] == [16, 16, 16, 10]
    reg = build_model(f"{MODELS}:build_regressor", {"hidden": 7})
    assert reg[0].out_features == 7


def test_a_model_function_returning_no_module_is_a_user_code_error(tmp_path: Path) -> None:
    from raydt.frameworks.pytorch.user.code import build_model, load_data

    (tmp_path / "bad.py").write_text("def model(config):\n    return 3\n\ndef data():\n    return [1, 2, 3]\n")
    with pytest.raises(UserCodeError, match="returned int, not a torch.nn.Module"):
        build_model(f"{tmp_path}/bad.py:model", {})
    with pytest.raises(UserCodeError, match=r"returned list; expected \(train, validation\)"):
        load_data(f"{tmp_path}/bad.py:data", {})


def test_data_as_a_pair_or_a_dict_and_empty_data_refused(tmp_path: Path) -> None:
    from raydt.frameworks.pytorch.user.code import load_data

    (tmp_path / "empty.py").write_text(
        "import torch\nfrom torch.utils.data import TensorDataset\n"
        "def images(config):\n"
        "    return {'train': TensorDataset(torch.zeros(6, 1, 8, 8)), 'val': TensorDataset(torch.zeros(2, 1, 8, 8))}\n"
        "def data():\n    return TensorDataset(torch.zeros(4, 2)), TensorDataset(torch.zeros(0, 2))\n"
        "def stream():\n    return TensorDataset(torch.zeros(4, 2)), iter(range(3))\n"
    )
    train, val = load_data(f"{tmp_path}/empty.py:images", {"lr": 1})
    assert tuple(train[0][0].shape) == (1, 8, 8) and (len(train), len(val)) == (6, 2)
    with pytest.raises(UserCodeError, match="validation dataset is empty"):
        load_data(f"{tmp_path}/empty.py:data", {})
    with pytest.raises(UserCodeError, match="its validation part is range_iterator, not a map-style Dataset"):
        load_data(f"{tmp_path}/empty.py:stream", {})


def _tiny() -> tuple[Any, Any, Any]:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    return (
        model,
        DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True),
        DataLoader(TensorDataset(x, y), batch_size=256),
    )


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_epochs_learn_and_report_loss_and_accuracy(precision: str) -> None:
    import torch

    from raydt.frameworks.pytorch.user import optim
    from raydt.frameworks.pytorch.user.code import make_loss
    from raydt.frameworks.pytorch.user.loop import evaluate, params, train_epoch

    torch.manual_seed(0)
    model, train, val = _tiny()
    hp = {**params({"lr": 0.1, "precision": precision, "epochs": 6}), "_loss": "cross_entropy"}
    loss_fn, classification = make_loss("cross_entropy")
    assert classification
    opt = optim.build(hp, model.parameters(), len(train), "cpu")
    before = evaluate(model, val, loss_fn, hp, True, [])
    losses = [train_epoch(model, train, opt, loss_fn, hp)[0] for _ in range(6)]
    after = evaluate(model, val, loss_fn, hp, True, [])
    assert losses[-1] < losses[0] and after["val_loss"] < before["val_loss"]
    assert after["val_accuracy"] > 0.9


def test_user_metrics_see_the_whole_validation_set_and_a_failing_one_is_named() -> None:
    from raydt.frameworks.pytorch.user.code import make_loss
    from raydt.frameworks.pytorch.user.loop import evaluate, params

    model, _, val = _tiny()
    hp = {**params({}), "_loss": "cross_entropy"}

    def rows(outputs: Any, targets: Any) -> float:
        return float(len(targets))

    def broken(outputs: Any, targets: Any) -> float:
        raise KeyError("nope")

    out = evaluate(model, val, make_loss("cross_entropy")[0], hp, True, [rows])
    assert out["rows"] == 256.0
    with pytest.raises(ValueError, match="metric function broken raised KeyError"):
        evaluate(model, val, make_loss("cross_entropy")[0], hp, True, [broken])


def test_a_loss_that_does_not_fit_the_output_names_both_shapes() -> None:
    import torch

    from raydt.frameworks.pytorch.user.code import make_loss
    from raydt.frameworks.pytorch.user.loop import _step_loss

    model = torch.nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"'mse' does not fit the model's output: outputs \(8, 3\).*targets \(8,\)"):
        _step_loss(model, torch.randn(8, 4), torch.randn(8), make_loss("mse")[0], "mse")


def test_regression_targets_are_shaped_as_the_output_and_optimizers_follow_the_config() -> None:
    import torch

    from raydt.frameworks.pytorch.user.code import align
    from raydt.frameworks.pytorch.user.loop import params
    from raydt.frameworks.pytorch.user.optim import make_optimizer

    assert align(torch.zeros(5, 1), torch.arange(5), "mse").shape == (5, 1)
    assert align(torch.zeros(5, 1), torch.arange(5), "mse").dtype == torch.float32
    p = [torch.nn.Parameter(torch.zeros(2))]
    sgd = make_optimizer(params({"optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.2}), p)
    assert type(sgd).__name__ == "SGD" and sgd.defaults["momentum"] == 0.9 and sgd.defaults["lr"] == 0.2
    assert type(make_optimizer(params({"optimizer": "adamw"}), p)).__name__ == "AdamW"


def test_a_saved_checkpoint_serves_the_same_answers_as_the_model(tmp_path: Path) -> None:
    import torch

    from raydt.frameworks.checkpoint_format import write_meta
    from raydt.frameworks.pytorch.trainer import MODEL_FILE
    from raydt.frameworks.pytorch.user.checkpoint import meta
    from raydt.frameworks.pytorch.user.code import build_model
    from raydt.frameworks.pytorch.user.predictor import Predictor

    config = {"hidden": 8, "layers": 1}
    model = build_model(f"{MODELS}:MLP", config)
    refs = {"model": f"{MODELS}:MLP", "data": f"{DATA}:digits_flat", "loss": "cross_entropy", "metrics": []}
    torch.save({"model": model.state_dict()}, os.path.join(tmp_path, MODEL_FILE))
    write_meta(str(tmp_path), meta(refs, config, torch.zeros(64), 10, True))
    predictor = Predictor(str(tmp_path))
    rows = torch.randn(3, 64)
    with torch.no_grad():
        expected = model(rows).argmax(dim=1).tolist()
    assert predictor.predict(rows.tolist()) == expected
    assert predictor.predict([{"x": r} for r in rows.tolist()]) == expected
    assert abs(sum(predictor.predict_proba(rows.tolist())[0]) - 1) < 1e-5
    assert predictor.metadata()["inputShape"] == [None, 64]
    with pytest.raises(ValueError, match=r"shape \[64\] \(got \[3\]\)"):
        predictor.predict([[1.0, 2.0, 3.0]])

    # the built-in predictor (what serves a dataConfig-fed classifier: flat rows, class labels) reaches the same model
    from raydt.serving.predictors import BuiltinPredictor

    builtin = BuiltinPredictor(str(tmp_path))
    answer = builtin.predict(builtin.rows(rows.tolist()), probabilities=True)
    assert answer["predictions"] == expected and len(answer["probabilities"][0]) == 10


def test_schedules_warm_up_and_decay_over_the_optimizer_steps_of_the_run() -> None:
    import torch

    from raydt.frameworks.pytorch.user.loop import params
    from raydt.frameworks.pytorch.user.optim import Factor, build

    cosine = Factor("cosine", warm=2, total=10)
    assert [round(cosine(s), 3) for s in (0, 1, 2, 6, 10)] == [0.5, 1.0, 1.0, 0.5, 0.0]
    step = Factor("step", warm=0, total=9)
    assert [step(s) for s in (0, 3, 6, 8)] == [1.0, 0.1, pytest.approx(0.01), pytest.approx(0.01)]
    assert build(params({}), [torch.nn.Parameter(torch.zeros(1))], 4, "cpu").scheduler is None
    opt = build(
        params({"schedule": "onecycle", "epochs": 2, "lr": 0.5}), [torch.nn.Parameter(torch.zeros(1))], 4, "cpu"
    )
    assert type(opt.scheduler).__name__ == "OneCycleLR" and opt.scheduler.total_steps == 8


def test_accumulation_steps_the_optimizer_once_per_group_of_batches() -> None:
    from raydt.frameworks.pytorch.user import optim
    from raydt.frameworks.pytorch.user.code import make_loss
    from raydt.frameworks.pytorch.user.loop import params, steps_per_epoch, train_epoch

    model, train, _ = _tiny()  # 4 batches an epoch
    hp = {**params({"accumulate": 3, "schedule": "cosine", "epochs": 1}), "_loss": "cross_entropy"}
    opt = optim.build(hp, model.parameters(), steps_per_epoch(train, 3), "cpu")
    train_epoch(model, train, opt, make_loss("cross_entropy")[0], hp)
    assert steps_per_epoch(train, 3) == 2 and opt.scheduler.last_epoch == 2  # 3 batches, then the last one
    assert opt.optimizer.state_dict()["state"][0]["step"] == 2


def test_early_stopping_counts_epochs_without_a_better_metric() -> None:
    from raydt.frameworks.pytorch.user.loop import EarlyStop

    stop = EarlyStop(2, "val_loss", "min", {})
    assert [stop.update({"val_loss": v}) for v in (1.0, 0.9, 0.95, 0.91)] == [False, False, False, True]
    resumed = EarlyStop(2, "val_accuracy", "max", {"best": 0.8, "stale": 1})
    assert resumed.update({"val_accuracy": 0.7}) is True
    assert EarlyStop(0, "val_loss", "min", {}).update({"val_loss": 1.0}) is False


def test_schedule_and_accumulate_values_are_checked() -> None:
    found = issues(spec(trainLoopConfig={"schedule": "cosin", "accumulate": 0, "patience": -1}))
    assert any(i.startswith("trainConfig.trainLoopConfig.schedule:") and "'cosine'" in i for i in found), found
    assert any(i.startswith("trainConfig.trainLoopConfig.accumulate:") and "> 0" in i for i in found), found
    assert any(i.startswith("trainConfig.trainLoopConfig.patience:") and ">= 0" in i for i in found), found


def test_serving_a_regression_model_in_the_run_needs_the_user_predictor() -> None:
    s = spec(model=f"{MODELS}:build_regressor", data=f"{DATA}:diabetes", loss="mse")
    s["serveConfig"] = {}
    found = issues(s)
    assert any(i.startswith("serveConfig.predictorPath:") and "user.predictor:Predictor" in i for i in found), found
    s["serveConfig"] = {"predictorPath": "raydt.frameworks.pytorch.user.predictor:Predictor"}
    load(s)


def test_serve_picks_the_user_model_predictor_for_a_regression_checkpoint(tmp_path: Path) -> None:
    import torch

    from raydt.frameworks.checkpoint_format import write_meta
    from raydt.frameworks.pytorch.trainer import MODEL_FILE
    from raydt.frameworks.pytorch.user.checkpoint import meta
    from raydt.frameworks.pytorch.user.code import build_model
    from raydt.serving.loading import make_predictor

    config = {"hidden": 4}
    model = build_model(f"{MODELS}:build_regressor", config)
    refs = {"model": f"{MODELS}:build_regressor", "data": f"{DATA}:diabetes", "loss": "mse", "metrics": []}
    torch.save({"model": model.state_dict()}, os.path.join(tmp_path, MODEL_FILE))
    write_meta(str(tmp_path), meta(refs, config, torch.zeros(10), 1, False))
    served = make_predictor({"checkpoint": str(tmp_path), "framework": "pytorch"})  # no predictorPath
    rows = torch.randn(2, 10)
    with torch.no_grad():
        expected = model(rows)
    answer = served.predict(rows.tolist())
    got = answer["predictions"] if isinstance(answer, dict) else answer
    assert torch.allclose(torch.tensor(got, dtype=torch.float32).reshape(expected.shape), expected, atol=1e-5)


def test_the_model_reads_either_its_datasets_or_dataconfig(tmp_path: Path) -> None:
    csv = tmp_path / "rows.csv"
    csv.write_text("a,b,label\n1,2,x\n3,4,y\n")
    with_ray_data = {**spec(data=None), "dataConfig": {"train": {"format": "csv", "paths": str(csv), "label": "label"}}}
    p = plan.train(load(with_ray_data))
    assert p.loop_config[RESERVED_KEY]["userModel"]["data"] == ""  # the loop reads this worker's Ray Data shard
    both = {**spec(), "dataConfig": with_ray_data["dataConfig"]}
    assert any("trainConfig.data: excludes dataConfig" in i for i in issues(both))
    assert any("is required with trainConfig.model (or dataConfig)" in i for i in issues(spec(data=None)))
