"""``mode: serve`` of a ``trainConfig.model`` checkpoint without ``serveConfig.predictorPath``: its own model on
instances of its own input shape (a CNN's images), through the ``preprocess`` saved with it, and ``/metadata`` naming
the framework and the hooks. Checkpoints are built as the user-model loop writes them (``user.checkpoint``); the
predictor is chosen and called as a replica does (``serving.loading.make_predictor``). No Ray."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from raydt.errors import SpecError, UserCodeError
from raydt.spec import load

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plain-pytorch"
MODELS, DATA, PREDICT = f"{EXAMPLE}/models.py", f"{EXAMPLE}/data.py", f"{EXAMPLE}/predict.py"


def checkpoint(folder: Path, model_ref: str, config: dict[str, Any], sample: Any, **refs: Any) -> tuple[str, Any]:
    """A checkpoint directory as ``user.loop`` saves it (model.pt + raydt_meta.json), and the model in it."""
    import torch

    from raydt.frameworks.checkpoint_format import write_meta
    from raydt.frameworks.pytorch.user.checkpoint import MODEL_FILE, meta, output_width
    from raydt.frameworks.pytorch.user.code import build_model

    folder.mkdir()
    model = build_model(model_ref, config)
    torch.save({"model": model.state_dict()}, folder / MODEL_FILE)
    refs = {"model": model_ref, "data": f"{DATA}:digits_images", "loss": "cross_entropy", "metrics": [], **refs}
    classification = refs["loss"] in ("cross_entropy", "bce")
    write_meta(str(folder), meta(refs, config, sample, output_width(model, sample), classification))
    model.eval()
    return str(folder), model


def test_a_cnn_classifier_is_served_by_its_own_model_on_images(tmp_path: Path) -> None:
    import torch

    from raydt.serving.loading import make_predictor
    from raydt.serving.predictors import PredictorError, UserPredictor

    ckpt, model = checkpoint(tmp_path / "cnn", f"{MODELS}:SmallCNN", {"channels": 4}, torch.zeros(1, 8, 8))
    served = make_predictor({"checkpoint": ckpt, "framework": None})  # serveConfig without predictorPath
    assert isinstance(served, UserPredictor)
    images = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    answer = served.predict(served.rows(images.tolist()), probabilities=True)
    with torch.no_grad():
        logits = model(images)
    assert answer["predictions"] == logits.argmax(dim=1).tolist()
    assert answer["probabilities"][0] == pytest.approx(logits.softmax(dim=1)[0].tolist(), abs=1e-5)
    meta = served.metadata()
    assert meta["framework"] == "pytorch"  # from the checkpoint, not serveConfig.framework (null)
    assert (meta["inputShape"], meta["task"], meta["numClasses"]) == ([None, 1, 8, 8], "classification", 10)
    assert "preprocess" not in meta and "postprocess" not in meta  # raw rows go to the model as they are
    with pytest.raises(PredictorError, match=r"shape \[1, 8, 8\] \(got \[64\]\)"):
        served.predict(served.rows(images.reshape(5, 64).tolist()))


def test_a_flat_classifier_answers_as_the_builtin_predictor_did(tmp_path: Path) -> None:
    import torch

    from raydt.serving.loading import make_predictor
    from raydt.serving.predictors import BuiltinPredictor, UserPredictor

    ckpt, _ = checkpoint(tmp_path / "mlp", f"{MODELS}:MLP", {"hidden": 8, "layers": 1}, torch.zeros(64))
    served = make_predictor({"checkpoint": ckpt})
    assert isinstance(served, UserPredictor)
    rows = torch.randn(4, 64, generator=torch.Generator().manual_seed(1)).tolist()
    builtin = BuiltinPredictor(ckpt)  # what served it before: class indices for trainConfig.data
    assert served.predict(rows)["predictions"] == builtin.predict(builtin.rows(rows))["predictions"]


def test_a_dataconfig_classifier_keeps_the_pipeline_of_the_builtin_predictor(tmp_path: Path) -> None:
    import torch

    from raydt.frameworks.checkpoint_format import read_meta, write_meta
    from raydt.serving.loading import _user_model

    ckpt, _ = checkpoint(tmp_path / "rows", f"{MODELS}:MLP", {"hidden": 8, "layers": 1}, torch.zeros(64))
    meta = read_meta(ckpt) or {}
    write_meta(ckpt, {**meta, "preprocessing": {"pipeline": "pipeline.pkl"}})  # fed by dataConfig's pipeline
    assert _user_model(ckpt) is False  # the built-in predictor: raw rows -> pipeline -> the data's labels
    write_meta(ckpt, {**meta, "preprocessing": {"pipeline": "pipeline.pkl"}, "task": "regression"})
    assert _user_model(ckpt) is True


SCALE = """
import torch

MEAN, STD = 8.0, 4.0


def standardise(instances):
    return (torch.tensor(instances) - MEAN) / STD


def with_config(instances, config):
    assert config["channels"] == 4
    return [[[[v / 16 for v in row] for row in image[0]]] for image in instances]


def strict(instances):
    raise ValueError("instances must be raw digit images")


def broken(instances):
    return 1 / 0


def too_few(instances):
    return instances[:1]


def three(instances, config, extra):
    return instances
"""


@pytest.fixture
def hooks(tmp_path: Path) -> Path:
    path = tmp_path / "hooks.py"
    path.write_text(textwrap.dedent(SCALE))
    return path


def test_serving_applies_the_preprocess_saved_with_the_checkpoint(tmp_path: Path, hooks: Path) -> None:
    import torch

    from raydt.serving.loading import make_predictor
    from raydt.serving.predictors import PredictorError

    ref = f"{hooks}:standardise"
    ckpt, model = checkpoint(
        tmp_path / "c", f"{MODELS}:SmallCNN", {"channels": 4}, torch.zeros(1, 8, 8), preprocess=ref
    )
    served = make_predictor({"checkpoint": ckpt})
    raw = torch.randint(0, 17, (3, 1, 8, 8), generator=torch.Generator().manual_seed(2)).float()
    with torch.no_grad():
        expected = model((raw - 8.0) / 4.0).argmax(dim=1).tolist()
    assert served.predict(served.rows(raw.tolist()))["predictions"] == expected
    assert served.metadata()["preprocess"] == ref  # /metadata says raw rows are transformed first

    def serve(name: str) -> Any:
        cnn = (f"{MODELS}:SmallCNN", {"channels": 4}, torch.zeros(1, 8, 8))
        return checkpoint(tmp_path / name, *cnn, preprocess=f"{hooks}:{name}")

    folder, with_config = serve("with_config")  # given the trained config too
    with torch.no_grad():
        scaled = with_config(raw / 16).argmax(dim=1).tolist()
    assert make_predictor({"checkpoint": folder}).predict(raw.tolist())["predictions"] == scaled
    with pytest.raises(PredictorError, match="raw digit images"):  # the hook refusing the input: HTTP 400
        make_predictor({"checkpoint": serve("strict")[0]}).predict(raw.tolist())
    with pytest.raises(UserCodeError, match="ZeroDivisionError"):  # the hook failing: HTTP 500
        make_predictor({"checkpoint": serve("broken")[0]}).predict(raw.tolist())
    with pytest.raises(UserCodeError, match="returned 1 rows for 3 instances"):
        make_predictor({"checkpoint": serve("too_few")[0]}).predict(raw.tolist())


def _spec(**train: Any) -> dict[str, Any]:
    return {
        "mode": "train",
        "config": {},
        "trainConfig": {"model": f"{MODELS}:MLP", "data": f"{DATA}:digits_flat", **train},
    }


def test_preprocess_is_checked_at_validation_and_reaches_the_checkpoint(hooks: Path) -> None:
    from raydt import plan
    from raydt.frameworks.common import RESERVED_KEY

    loaded = load(_spec(preprocess=f"{hooks}:standardise"))
    settings = plan.train(loaded).loop_config[RESERVED_KEY]["userModel"]
    assert settings["preprocess"] == f"{hooks}:standardise"  # what user.checkpoint.meta saves as userModel
    with pytest.raises(SpecError) as info:
        load(_spec(preprocess=f"{hooks}:three"))
    assert "trainConfig.preprocess: must take (instances) or (instances, config)" in str(info.value)
    with pytest.raises(SpecError, match=r"trainConfig.preprocess: needs trainConfig.model"):
        load({"mode": "train", "config": {}, "trainConfig": {"preprocess": f"{hooks}:standardise"}})
    rows = {"train": {"format": "csv", "paths": __file__, "label": "y"}}
    spec = {**_spec(preprocess=f"{hooks}:standardise"), "dataConfig": rows}
    del spec["trainConfig"]["data"]
    with pytest.raises(SpecError, match=r"trainConfig.preprocess: excludes dataConfig"):
        load(spec)


def test_the_regression_example_serves_raw_rows_through_its_preprocess() -> None:
    """examples/plain-pytorch/regression.yaml: data.py:diabetes standardised the rows, predict.py:standardise does
    the same to what a client sends."""
    import torch
    from sklearn.datasets import load_diabetes

    from raydt.frameworks.pytorch.user.code import preprocess

    spec = load(str(EXAMPLE / "regression.yaml"))
    assert spec.spec.train_config.preprocess == "predict.py:standardise"
    x = torch.tensor(load_diabetes(return_X_y=True)[0], dtype=torch.float32)
    served = preprocess(f"{PREDICT}:standardise", x[:5].tolist(), {})
    assert torch.allclose(served, ((x - x.mean(0)) / x.std(0))[:5], atol=1e-5)  # data.py:diabetes's rows
