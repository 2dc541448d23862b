"""The predict actor's logic without Ray: instances as the serve endpoint takes them, the batch scored at once and
row by row only when refused, bad rows skipped or named, the kept columns, and the staging folder's life."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from raydt.predict import output
from raydt.predict.batch import BadRowsError, ScoreOptions, Scorer
from raydt.serving.predictors import PredictorError


class FakePredictor:
    """Refuses a row whose x is negative; predicts 'big' for x > 1; counts its calls."""

    def __init__(self, raw_columns: list[str] | None = None) -> None:
        self.raw_columns = raw_columns or []
        self.pipeline = object() if raw_columns else None
        self.calls = 0

    def rows(self, instances: list[Any]) -> list[Any]:
        for i, row in enumerate(instances):
            x = row["x"] if isinstance(row, dict) else row[0]
            if x is None or x < 0:
                raise PredictorError(f"instances[{i}] has missing or non-numeric values after preprocessing")
        return instances

    def predict(self, rows: list[Any], probabilities: bool = False) -> dict[str, Any]:
        self.calls += 1
        xs = [r["x"] if isinstance(r, dict) else r[0] for r in rows]
        out: dict[str, Any] = {"predictions": ["big" if x > 1 else "small" for x in xs]}
        if probabilities:
            out["probabilities"] = [[0.25, 0.75] for _ in xs]
        return out


def scorer(monkeypatch: pytest.MonkeyPatch, predictor: FakePredictor, **opts: Any) -> Scorer:
    monkeypatch.setattr("raydt.serving.loading.make_predictor", lambda options: predictor)
    return Scorer(ScoreOptions(checkpoint="ckpt", predictor_path=None, input_columns=None, **opts))


BATCH = pd.DataFrame({"id": [1, 2, 3, 4], "x": [0.5, -1.0, 2.0, np.nan]})


def test_a_good_batch_is_scored_in_one_call_with_the_kept_columns_and_probabilities(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakePredictor()
    s = scorer(monkeypatch, fake, keep_columns=["id"], probabilities=True)
    out = s(pd.DataFrame({"id": [7, 8], "x": [0.5, 3.0]}))
    assert out.to_dict("list") == {"id": [7, 8], "prediction": ["small", "big"], "probabilities": [[0.25, 0.75]] * 2}
    assert fake.calls == 1


def test_instances_are_lists_of_the_input_columns_or_records_for_a_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = scorer(monkeypatch, FakePredictor(), keep_columns=["id"])
    assert plain.instances(pd.DataFrame({"id": [1], "x": [0.5], "y": [2]})) == [[0.5, 2]]  # kept columns left out
    piped = scorer(monkeypatch, FakePredictor(raw_columns=["x", "city"]))
    assert piped.instances(pd.DataFrame({"id": [1], "x": [np.nan], "city": ["oslo"]})) == [{"x": None, "city": "oslo"}]
    arrays = scorer(monkeypatch, FakePredictor())
    image = pd.DataFrame({"image": [np.zeros((2, 2)), np.ones((2, 2))]})
    assert arrays.instances(image) == [[[0.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]]


def test_skip_drops_and_counts_the_rows_the_model_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[tuple[int, int]] = []

    class Counter:
        class add:  # noqa: N801 - a Ray actor method's shape: counter.add.remote(done, bad)
            @staticmethod
            def remote(done: int, bad: int) -> None:
                counted.append((done, bad))

    s = scorer(monkeypatch, FakePredictor(), keep_columns=["id"], skip_bad_rows=True, counter=Counter())
    out = s(BATCH)
    assert out["id"].tolist() == [1, 3] and out["prediction"].tolist() == ["small", "big"]
    assert counted == [(2, 2)]


def test_fail_names_the_first_bad_rows_by_their_values(monkeypatch: pytest.MonkeyPatch) -> None:
    s = scorer(monkeypatch, FakePredictor(), keep_columns=["id"])
    with pytest.raises(BadRowsError) as caught:
        s(BATCH)
    message = str(caught.value)
    assert message.startswith("2 row(s) cannot be scored") and "'id': 2" in message and "'id': 4" in message
    assert "the row has missing" in message  # the predictor's reason, said of the row


def test_staging_is_beside_the_output_published_whole_and_discarded_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "scores"
    staging = Path(output.staging_for(str(out)))
    assert staging.parent == tmp_path and staging.name.startswith(".scores.raydt-staging-")
    staging.mkdir()
    (staging / "part-0.parquet").write_text("x")
    assert output.publish(str(staging), str(out), overwrite=False) == ["part-0.parquet"]
    assert not staging.exists()
    staging.mkdir()
    (staging / "part-1.parquet").write_text("y")
    assert output.publish(str(staging), str(out), overwrite=True) == ["part-1.parquet"]  # the old one gone
    staging.mkdir()
    output.discard(str(staging), str(out))
    assert not staging.exists() and out.exists() and not [p for p in tmp_path.iterdir() if "raydt-old" in p.name]
    assert output.staging_for("s3://bucket/scores") == "s3://bucket/scores"  # written in place


@pytest.mark.parametrize(
    ("cpu", "asked", "total", "autoscaler", "actors"),
    [
        (1.0, 2, 2.0, None, 1),  # 2 one-CPU actors on 2 CPUs would starve the writer: one
        (0.5, 2, 2.0, None, 2),  # half a CPU each: one CPU stays free
        (1.0, 2, 8.0, None, 2),  # room: as asked
        (1.0, 4, 2.0, {"version": "v2"}, 4),  # an autoscaler adds nodes: as asked
    ],
)
def test_the_pool_leaves_ray_data_a_cpu(
    tmp_path: Path, cpu: float, asked: int, total: float, autoscaler: Any, actors: int
) -> None:
    import dataclasses

    from raydt.runners.predict import pool_size

    p = dataclasses.replace(a_plan(tmp_path), concurrency=asked, actor_resources={"CPU": cpu})
    found, notes = pool_size(p, {"totalCpu": total, "autoscaler": autoscaler})
    assert found == actors and bool(notes) == (actors < asked)


def test_an_actor_as_big_as_the_cluster_is_refused_not_left_to_hang(tmp_path: Path) -> None:
    import dataclasses

    from raydt.errors import InfeasibleResourcesError
    from raydt.runners.predict import pool_size

    p = dataclasses.replace(a_plan(tmp_path), concurrency=1, actor_resources={"CPU": 2.0})
    with pytest.raises(InfeasibleResourcesError, match="none would be left"):
        pool_size(p, {"totalCpu": 2.0, "autoscaler": None})


def a_plan(tmp_path: Path) -> Any:
    from raydt.plan import PredictPlan

    return PredictPlan(
        checkpoint_path=str(tmp_path), experiment_path=None, predictor=None, data_paths=[str(tmp_path)],
        data_format="csv", features=None, keep_columns=[], output_path=str(tmp_path / "out"), output_format="parquet",
        batch_size=64, concurrency=2, on_bad_rows="fail", probabilities=False, overwrite=False,
        actor_resources={"CPU": 1.0}, use_gpu=False, name="p", storage_path=str(tmp_path), address=None,
    )  # fmt: skip
