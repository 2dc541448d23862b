"""trainConfig.postprocess: the user's function that turns the model's outputs into what mode serve answers,
checked statically at validation, saved with the checkpoint, called by the user-model predictor."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from raydt.errors import SpecError, UserCodeError
from raydt.spec import load

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plain-pytorch"
MODELS, DATA = f"{EXAMPLE}/models.py", f"{EXAMPLE}/data.py"

CODE = """
def one_arg(outputs):
    return outputs.argmax(dim=1) * 10


def three(outputs, instances, extra):
    return []


def wrong_length(outputs, instances):
    return [1]


class Post:
    pass
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    path = tmp_path / "post.py"
    path.write_text(textwrap.dedent(CODE))
    return path


def _spec(**train: Any) -> dict[str, Any]:
    tc = {"model": f"{MODELS}:MLP", "data": f"{DATA}:digits_flat", **train}
    return {"mode": "train", "config": {}, "trainConfig": tc}


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("three", "must take (outputs, instances) or (outputs); three requires 3 arguments"),
        ("Post", "must name a plain function (it is a class)"),
        ("nope", "'nope' is not defined"),
    ],
)
def test_a_bad_postprocess_is_refused_at_its_path(code: Path, name: str, needle: str) -> None:
    with pytest.raises(SpecError) as info:
        load(_spec(postprocess=f"{code}:{name}"))
    assert any(i.path == "trainConfig.postprocess" and needle in str(i) for i in info.value.issues), info.value
    with pytest.raises(SpecError, match=r"trainConfig.postprocess: needs trainConfig.model"):
        load({"mode": "train", "config": {}, "trainConfig": {"postprocess": f"{code}:one_arg"}})


def _checkpoint(tmp_path: Path, post: str | None, name: str = "ckpt") -> tuple[str, Any]:
    import torch

    from raydt.frameworks.checkpoint_format import write_meta
    from raydt.frameworks.pytorch.user.checkpoint import MODEL_FILE, meta
    from raydt.frameworks.pytorch.user.code import build_model

    folder = tmp_path / name
    folder.mkdir()
    config = {"hidden": 8, "layers": 1}
    model = build_model(f"{MODELS}:MLP", config)
    refs = {"model": f"{MODELS}:MLP", "data": f"{DATA}:digits_flat", "loss": "cross_entropy", "metrics": []}
    torch.save({"model": model.state_dict()}, os.path.join(folder, MODEL_FILE))
    write_meta(
        str(folder), meta({**refs, **({"postprocess": post} if post else {})}, config, torch.zeros(64), 10, True)
    )
    return str(folder), model


def test_serving_answers_with_the_postprocess_of_the_checkpoint(tmp_path: Path, code: Path) -> None:
    import torch

    from raydt.frameworks.pytorch.user.predictor import Predictor
    from raydt.serving.loading import make_predictor
    from raydt.serving.predictors import UserPredictor

    ckpt, model = _checkpoint(tmp_path, f"{EXAMPLE}/predict.py:postprocess")
    rows = torch.randn(3, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        probs = model(rows).softmax(dim=1)
    served = make_predictor({"checkpoint": ckpt})  # a classifier, but its answers are postprocess's
    assert isinstance(served, UserPredictor)
    answer = served.predict(served.rows(rows.tolist()))["predictions"]
    assert [a["digit"] for a in answer] == probs.argmax(dim=1).tolist()
    assert [a["confidence"] for a in answer] == [round(float(p), 4) for p in probs.max(dim=1).values]
    assert served.metadata()["postprocess"].endswith("predict.py:postprocess")

    # one argument (outputs only) and a tensor result are fine; a wrong count is the user's error
    one = Predictor(_checkpoint(tmp_path, f"{code}:one_arg", "one")[0])
    assert all(v % 10 == 0 for v in one.predict(rows.tolist()))
    bad = Predictor(_checkpoint(tmp_path, f"{code}:wrong_length", "bad")[0])
    with pytest.raises(UserCodeError, match="returned 1 items for 3 instances"):
        bad.predict(rows.tolist())


def test_a_classifier_without_postprocess_is_served_by_the_user_model_predictor(tmp_path: Path) -> None:
    from raydt.serving.loading import make_predictor
    from raydt.serving.predictors import UserPredictor

    ckpt, _ = _checkpoint(tmp_path, None)  # whatever its input shape (test_user_model_serving: a CNN's images)
    assert isinstance(make_predictor({"checkpoint": ckpt}), UserPredictor)
