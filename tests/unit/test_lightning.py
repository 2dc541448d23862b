"""framework: lightning: validation without Ray, torch or Lightning, the plan, a missing extra, and the loop's pieces
(the module and data from the user's code, the report's metrics and the files serving reads) on real Lightning,
without Ray."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import raydt
from raydt import plan
from raydt.errors import UserCodeError
from raydt.frameworks.common import RESERVED_KEY
from raydt.spec import load
from tests.unit.helpers import issue_lines as issues

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lightning"
MODELS, DATA = f"{EXAMPLE}/models.py", f"{EXAMPLE}/data.py"


def spec(mode: str = "train", **train: Any) -> dict[str, Any]:
    tc = {"framework": "lightning", "model": f"{MODELS}:DigitsClassifier", "data": f"{DATA}:digits", **train}
    return {"mode": mode, "config": {}, "trainConfig": {k: v for k, v in tc.items() if v is not None}}


def test_the_examples_validate_and_plan_with_the_lightning_loops_defaults() -> None:
    for name in ("spec.yaml", "tune.yaml"):
        load(EXAMPLE / name)
    p = plan.train(load(spec(trainLoopConfig={"hidden": 32, "lr": 0.01}, epochs=3)))
    assert p.framework.name == "lightning" and p.trainer is None
    assert p.framework.trainer_class == "ray.train.torch:TorchTrainer"
    refs = p.loop_config[RESERVED_KEY]["userModel"]
    assert refs["model"] == f"{MODELS}:DigitsClassifier" and refs["data"] == f"{DATA}:digits"
    assert p.loop_config["hidden"] == 32 and p.loop_config["lr"] == 0.01 and p.loop_config["epochs"] == 3
    assert p.loop_config["precision"] == "fp32" and p.loop_config["batchSize"] == 32
    for key in ("optimizer", "weightDecay", "schedule", "hiddenSize"):  # not the PyTorch loop's or the MLP's
        assert key not in p.loop_config
    assert "lr" not in plan.train(load(spec())).loop_config  # the module's own default lr stays its own


@pytest.mark.parametrize(
    ("changes", "path", "needles"),
    [
        ({"model": None}, "trainConfig.model", ["is required with framework lightning"]),
        ({"model": f"{MODELS}:Nope"}, "trainConfig.model", ["'Nope' is not defined", "DigitsClassifier"]),
        ({"data": f"{DATA}:DigitsData"}, "trainConfig.data", ["must name a plain function (it is a class)"]),
        ({"loss": "mse"}, "trainConfig.loss", ["is not read with framework lightning", "training_step"]),
        ({"metrics": [f"{DATA}:digits"]}, "trainConfig.metrics", ["is not read with framework lightning"]),
        ({"strategy": "fsdp"}, "trainConfig.strategy", ["is not read with framework lightning", "RayDDPStrategy"]),
        ({"postprocess": f"{DATA}:digits"}, "trainConfig.postprocess", ["is not read", "predictorPath"]),
        ({"trainLoopConfig": {"hiden": 8}}, "trainConfig.trainLoopConfig.hiden", ["keyword argument", "'hidden'"]),
        ({"trainLoopConfig": {"optimizer": "sgd"}}, "trainConfig.trainLoopConfig.optimizer", ["Lightning loop"]),
        ({"trainLoopConfig": {"batchSize": 0}}, "trainConfig.trainLoopConfig.batchSize", ["must be > 0"]),
        ({"trainLoopConfig": {"precision": "fp16"}}, "trainConfig.trainLoopConfig.precision", ["needs GPU"]),
        ({"trainLoopConfig": {"precision": "bf17"}}, "trainConfig.trainLoopConfig.precision", ["'bf16'"]),
    ],
)
def test_bad_lightning_specs_are_refused_at_their_path(changes: dict[str, Any], path: str, needles: list[str]) -> None:
    found = [i for i in issues(spec(**changes)) if i.startswith(f"{path}:")]
    assert found and all(n in found[0] for n in needles), issues(spec(**changes))


def test_data_is_optional_and_data_config_is_refused() -> None:
    load(spec(data=None))  # the module's own train_dataloader
    s = {**spec(), "dataConfig": {"train": {"format": "csv", "paths": ["x.csv"]}, "labelColumn": "y"}}
    assert any(i.startswith("dataConfig:") and "lightning" in i for i in issues(s))


def test_search_space_keys_are_the_loops_or_the_modules_keyword_arguments(tmp_path: Path) -> None:
    (tmp_path / "lit.py").write_text(
        textwrap.dedent("""
        import lightning.pytorch as pl
        class Lit(pl.LightningModule):
            def __init__(self, width, lr=0.01):
                super().__init__()
        """)
    )
    s = spec(model=f"{tmp_path}/lit.py:Lit")
    assert any("Lit() needs keyword argument(s) width" in i for i in issues(s))
    space = {"width": {"type": "choice", "values": [4, 8]}, "lr": {"type": "loguniform", "min": 0.001, "max": 0.1}}
    load({**spec("tune", model=f"{tmp_path}/lit.py:Lit"), "tuneConfig": {"searchSpace": space}})
    bad = {"width": 4, "widht": 2, "precision": {"type": "choice", "values": ["fp32", "fp8"]}}
    found = issues({**spec("tune", model=f"{tmp_path}/lit.py:Lit"), "tuneConfig": {"searchSpace": bad}})
    assert any(i.startswith("tuneConfig.searchSpace.widht:") and "'width'" in i for i in found), found
    assert any(i.startswith("tuneConfig.searchSpace.precision.values[1]:") for i in found), found


def test_a_missing_lightning_is_named_with_its_extra_before_ray_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lightning", None)  # what find_spec sees when the package is absent
    out = raydt.run(spec())
    assert out["status"] == "error" and out["error"]["code"] == "MISSING_DEPENDENCY", out
    assert "lightning" in out["error"]["message"] and "[lightning]" in out["error"]["hint"]


def test_validating_a_lightning_spec_imports_no_ray_torch_or_lightning() -> None:
    code = (
        "import sys, raydt; raydt.validate(sys.argv[1]);"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ray', 'torch', 'lightning'}))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(EXAMPLE / "spec.yaml")], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


# -- the loop's pieces, on real Lightning (no Ray) -------------------------------------------------------------


def test_modules_are_built_by_keyword_by_function_and_refused_when_not_lightning(tmp_path: Path) -> None:
    from raydt.frameworks.lightning.user.code import build_module

    module = build_module(f"{MODELS}:DigitsClassifier", {"hidden": 16, "lr": 0.5, "epochs": 3, RESERVED_KEY: {}})
    assert module.net[0].out_features == 16 and module.lr == 0.5
    (tmp_path / "mods.py").write_text(
        textwrap.dedent("""
        import lightning.pytorch as pl
        from torch import nn

        class Kw(pl.LightningModule):
            def __init__(self, **hp):
                super().__init__()
                self.hp = hp

        def build(config):
            return Kw(width=config["width"])

        def plain():
            return nn.Linear(2, 2)
        """)
    )
    assert build_module(f"{tmp_path}/mods.py:Kw", {"width": 3, "batchSize": 8, "seed": 1}).hp == {"width": 3}
    assert build_module(f"{tmp_path}/mods.py:build", {"width": 5}).hp == {"width": 5}
    with pytest.raises(UserCodeError, match="returned torch.nn.modules.linear.Linear, not a lightning"):
        build_module(f"{tmp_path}/mods.py:plain", {})


def test_data_is_a_datamodule_or_a_pair_of_datasets(tmp_path: Path) -> None:
    from raydt.frameworks.lightning.user.code import load_data

    datamodule, train, val = load_data(f"{DATA}:digits_module", {"batchSize": 16})
    assert type(datamodule).__name__ == "DigitsData" and datamodule.batch_size == 16 and train is None
    datamodule, train, val = load_data(f"{DATA}:digits", {})
    assert datamodule is None and len(train) + len(val) == 1797
    (tmp_path / "bad.py").write_text("def data():\n    return 3\n\ndef empty():\n    return [], [1]\n")
    with pytest.raises(UserCodeError, match="expected a LightningDataModule or"):
        load_data(f"{tmp_path}/bad.py:data", {})
    with pytest.raises(UserCodeError, match="its train dataset is empty"):
        load_data(f"{tmp_path}/bad.py:empty", {})


def test_reports_keep_one_number_metrics_and_meta_tells_a_classifier_from_a_regressor() -> None:
    import torch

    from raydt.frameworks.lightning.user import report
    from raydt.frameworks.lightning.user.code import build_module

    logged = {"val_loss": torch.tensor(0.5), "hist": torch.ones(3), "n": 2, "flag": True}
    assert report.scalars(logged) == {"val_loss": 0.5, "n": 2.0}
    assert report.first_pair({"x": torch.ones(2, 3)}) is None  # not an (x, y) batch: no input shape known
    module = build_module(f"{MODELS}:DigitsClassifier", {"hidden": 8})
    refs = {"model": f"{MODELS}:DigitsClassifier", "data": f"{DATA}:digits"}
    config = {"hidden": 8, "epochs": 2, RESERVED_KEY: {"userModel": refs}}
    sample = report.first_pair((torch.zeros(4, 64), torch.tensor([1, 2, 3, 4])))
    meta = report.meta(refs, config, module, sample)
    assert meta["task"] == "classification" and meta["numClasses"] == 10 and meta["inputShape"] == [64]
    assert meta["config"] == {"hidden": 8, "epochs": 2} and meta["userModel"]["loss"] == "training_step"
    regression = report.meta(refs, config, module, (torch.zeros(64), torch.zeros(4)))  # float targets
    assert regression["task"] == "regression" and "numClasses" not in regression
    assert "inputShape" not in report.meta(refs, config, module, None)


def test_the_serving_files_load_into_the_predictor_and_answer_as_the_module(tmp_path: Path) -> None:
    import torch

    from raydt.frameworks.lightning import predictor
    from raydt.frameworks.lightning.user import report
    from raydt.frameworks.lightning.user.code import build_module

    torch.manual_seed(0)
    module = build_module(f"{MODELS}:DigitsClassifier", {"hidden": 8}).eval()
    refs = {"model": f"{MODELS}:DigitsClassifier", "data": f"{DATA}:digits"}
    about = report.meta(refs, {"hidden": 8}, module, (torch.zeros(64), torch.tensor([3])))
    report.save_serving_files(str(tmp_path), module, 2, about)
    assert json.loads((tmp_path / "raydt_meta.json").read_text())["framework"] == "lightning"
    x = torch.rand(5, 64)
    with torch.no_grad():
        expected = module(x).softmax(dim=1).numpy()
    probabilities = predictor.load(str(tmp_path), about)(x.numpy())
    assert abs(probabilities - expected).max() < 1e-6
    assert predictor.Predictor(str(tmp_path)).predict(x.tolist()) == expected.argmax(axis=1).tolist()
    no_shape = {k: v for k, v in about.items() if k != "inputShape"}
    with pytest.raises(ValueError, match="predictorPath"):
        predictor.load(str(tmp_path), no_shape)
