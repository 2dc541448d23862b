"""trainConfig.scalingConfig is typed like config: strict types at their path, and plan.workers reads the types."""

from __future__ import annotations

from typing import Any

import pytest

from raydt import plan
from raydt.spec import load
from raydt.spec.schemas import input_schema
from tests.unit.helpers import issues_by_path as issues

AT = "trainConfig.scalingConfig"


def scaling(config: dict[str, Any] | None = None, **given: Any) -> dict[str, Any]:
    return {"mode": "train", "config": config or {}, "trainConfig": {"scalingConfig": given}}


@pytest.mark.parametrize(
    ("given", "path", "needles"),
    [
        ({"useGpu": "false"}, f"{AT}.useGpu", ["must be a valid boolean", "(got 'false')"]),
        ({"numWorkers": "2"}, f"{AT}.numWorkers", ["must be an integer >= 1", "Or use config.numWorkers"]),
        ({"numWorkers": 0}, f"{AT}.numWorkers", ["must be an integer >= 1", "(got 0)"]),
        ({"resourcesPerWorker": {"cpu": "1"}}, f"{AT}.resourcesPerWorker.cpu", ["must be a valid number"]),
        ({"resourcesPerWorker": {"cpus": 1}}, f"{AT}.resourcesPerWorker.cpus", ["unknown key", "did you mean 'cpu'"]),
        ({"acceleratorType": ""}, f"{AT}.acceleratorType", ["must be a non-empty string"]),
        ({"placementStrategy": 3}, f"{AT}.placementStrategy", ["must be a valid string"]),
        (
            {"placementStrategy": "spread"},
            f"{AT}.placementStrategy",
            ["unknown placement strategy", "Valid: PACK, SPREAD"],
        ),
        ({"useGPU": True}, f"{AT}.useGPU", ["unknown ScalingConfig key", "did you mean 'useGpu'"]),
    ],
)
def test_wrong_types_are_spec_errors_at_their_path(given: dict[str, Any], path: str, needles: list[str]) -> None:
    found = issues(scaling(**given))
    assert path in found, found
    for needle in needles:
        assert needle in found[path]


def test_a_value_given_in_both_places_must_agree() -> None:
    found = issues(scaling({"resourcesPerWorker": {"cpu": 1}}, resourcesPerWorker={"cpu": 2}))
    assert "conflicts with config.resourcesPerWorker ({'cpu': 1})" in found[f"{AT}.resourcesPerWorker"]
    assert "(got {'cpu': 2.0})" in found[f"{AT}.resourcesPerWorker"]
    same = load(scaling({"numWorkers": 2, "useGpu": False}, numWorkers=2, useGpu=False))
    assert plan.workers(same).num_workers == 2


def test_plan_workers_reads_the_typed_fields() -> None:
    spec = scaling(
        {"resourcesPerWorker": {"memoryGb": 2}},
        useGpu=True,
        numWorkers=3,
        placementStrategy="STRICT_SPREAD",
        acceleratorType="A100",
    )
    spec["config"]["resourcesPerWorker"] = {"memoryGb": 2}
    w = plan.workers(load(spec))
    assert (w.num_workers, w.use_gpu, w.placement_strategy, w.accelerator_type) == (3, True, "STRICT_SPREAD", "A100")
    assert w.resources == {"CPU": 1.0, "GPU": 1.0, "memory": 2e9}  # config's memory, defaults for the rest
    own = plan.workers(load(scaling(resourcesPerWorker={"cpu": 0.5, "custom": {"fpga": 1}})))
    assert own.resources == {"CPU": 0.5, "fpga": 1.0} and own.placement_strategy == "PACK"
    assert plan.workers(load(scaling(useGpu=None))).use_gpu is False  # null: not set, config's value holds


def test_the_schema_describes_scaling_config() -> None:
    schema = input_schema()
    props = schema["$defs"]["ScalingConfig"]["properties"]
    assert list(props) == ["numWorkers", "useGpu", "resourcesPerWorker", "placementStrategy", "acceleratorType"]
    assert props["placementStrategy"]["anyOf"][0]["enum"] == ["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"]
    assert {"type": "boolean"} in props["useGpu"]["anyOf"]
