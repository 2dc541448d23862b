"""The search-space vocabulary: every type translates with its documented bounds; bad domains are caught."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from raydt import space
from raydt.errors import SpecError
from raydt.spec import load, space_checks


def samples(domain: dict[str, Any], n: int = 400) -> list[Any]:
    tune_domain = space.parse({"x": domain}).to_tune()["x"]
    return [tune_domain.sample(random_state=np.random.RandomState(i)) for i in range(n)]


def test_uniform_and_loguniform_stay_in_bounds() -> None:
    for kind in ("uniform", "loguniform"):
        vals = samples({"type": kind, "min": 0.001, "max": 0.1})
        assert all(isinstance(v, float) and 0.001 <= v <= 0.1 for v in vals)
    logs = samples({"type": "loguniform", "min": 1e-5, "max": 1e-1})
    assert sum(v < 1e-3 for v in logs) > len(logs) / 3  # log scale: half the decades below 1e-3


def test_quantized_floats_are_multiples_of_q_with_inclusive_max() -> None:
    vals = samples({"type": "quniform", "min": 0.0, "max": 1.0, "q": 0.25})
    assert set(vals) <= {0.0, 0.25, 0.5, 0.75, 1.0} and 1.0 in vals
    vals = samples({"type": "qloguniform", "min": 1, "max": 100, "q": 1})
    assert all(float(v).is_integer() and 1 <= v <= 100 for v in vals)


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ({"type": "randint", "min": 1, "max": 3}, {1, 2, 3}),
        ({"type": "qrandint", "min": 0, "max": 12, "q": 4}, {0, 4, 8, 12}),
        ({"type": "qrandint", "min": 1, "max": 3, "q": 1}, {1, 2, 3}),
        ({"type": "lograndint", "min": 1, "max": 4}, {1, 2, 3, 4}),
    ],
)
def test_integer_types_are_ints_with_inclusive_max(domain: dict[str, Any], expected: set[int]) -> None:
    vals = samples(domain)
    assert all(isinstance(v, int | np.integer) for v in vals)
    assert set(int(v) for v in vals) == expected


def test_normal_types() -> None:
    vals = samples({"type": "normal", "mean": 5.0, "sd": 0.1})
    assert abs(float(np.mean(vals)) - 5.0) < 0.05
    q = samples({"type": "qnormal", "mean": 0.0, "sd": 1.0, "q": 0.5})
    assert all(abs(v / 0.5 - round(v / 0.5)) < 1e-9 for v in q)


def test_choice_grid_constants_and_nesting() -> None:
    param = space.parse(
        {
            "batchSize": {"type": "choice", "values": [16, 32, 64]},
            "layers": {"type": "grid", "values": [1, 2]},
            "epochs": 3,
            "optimizer": {"name": "adam", "lr": {"type": "loguniform", "min": 1e-4, "max": 1e-2}},
        }
    ).to_tune()
    assert set(param["batchSize"].categories) == {16, 32, 64}
    assert param["layers"] == {"grid_search": [1, 2]}
    assert param["epochs"] == 3
    assert param["optimizer"]["name"] == "adam"
    assert 1e-4 <= param["optimizer"]["lr"].sample() <= 1e-2


BAD = [
    ({"type": "uniform", "min": 1, "max": 1}, "x.min", "must be < max"),
    ({"type": "uniform", "min": 2, "max": 1}, "x.min", "must be < max"),
    ({"type": "loguniform", "min": 0, "max": 1}, "x.min", "must be > 0 for 'loguniform'"),
    ({"type": "qloguniform", "min": -1, "max": 1, "q": 0.1}, "x.min", "log scale"),
    ({"type": "choice", "values": []}, "x.values", "non-empty list"),
    ({"type": "grid", "values": "abc"}, "x.values", "non-empty list"),
    ({"type": "randint", "min": 0.5, "max": 3}, "x.min", "must be an integer for 'randint'"),
    ({"type": "lograndint", "min": 0, "max": 3}, "x.min", "must be > 0"),
    ({"type": "qrandint", "min": 0, "max": 10, "q": 0}, "x.q", "must be > 0"),
    ({"type": "quniform", "min": 0, "max": 1, "q": -0.1}, "x.q", "must be > 0"),
    ({"type": "quniform", "min": 0, "max": 1, "q": 2}, "x.q", "must not exceed max - min"),
    ({"type": "normal", "mean": 0, "sd": 0}, "x.sd", "must be > 0"),
    ({"type": "uniform", "min": "a", "max": 1}, "x.min", "must be a number"),
    ({"type": "uniform", "max": 1}, "x.min", "is required"),
    ({"type": "uniform", "min": 0, "max": 1, "step": 2}, "x.step", "is not a key of a 'uniform' domain"),
    ({"type": "logunifrom", "min": 0, "max": 1}, "x.type", "did you mean 'loguniform'"),
]


@pytest.mark.parametrize(("domain", "path", "needle"), BAD, ids=[f"{d['type']}-{n}" for d, _, n in BAD])
def test_bad_domains_name_their_exact_path(domain: dict[str, Any], path: str, needle: str) -> None:
    spec = {
        "mode": "tune",
        "config": {},
        "trainConfig": {"trainerPath": "raydt.frameworks.pytorch.trainer:train_loop"},
        "tuneConfig": {"searchSpace": {"opt": {"x": domain}}},
    }
    with pytest.raises(SpecError) as info:
        load(spec)
    full = f"tuneConfig.searchSpace.opt.{path}"
    found = [str(i) for i in info.value.issues if i.path == full]
    assert found and needle in found[0], [str(i) for i in info.value.issues]


def test_unknown_type_lists_the_valid_ones() -> None:
    issues = space_checks.check({"x": {"type": "beta"}})
    assert issues[0].path == "tuneConfig.searchSpace.x.type"
    for name in space.DOMAINS:
        assert name in issues[0].hint


NESTED = {"type": "uniform", "min": 1, "max": 2}


@pytest.mark.parametrize(
    ("domain", "path", "rule"),
    [
        ({"type": "grid", "values": [1, NESTED]}, "values[1]", "a grid value cannot hold a search domain"),
        ({"type": "grid", "values": [{"a": NESTED}]}, "values[0].a", "a grid value cannot hold a search domain"),
        ({"type": "choice", "values": [1, NESTED]}, "values[1]", "a choice value cannot itself be a search domain"),
        (
            {"type": "choice", "values": [[{"a": {"deep": {"type": "choice", "values": [1, 2]}}}]]},
            "values[0]",
            "a domain inside a list in a choice value is never sampled",
        ),
        ({"type": "choice", "values": [{"a": 1}, {}]}, "values[1]", "must not be an empty object (an empty branch)"),
    ],
)
def test_domains_a_value_would_pass_unsampled_are_refused_at_their_path(
    domain: dict[str, Any], path: str, rule: str
) -> None:
    issues = space_checks.check({"act": domain})
    found = [i for i in issues if i.path == f"tuneConfig.searchSpace.act.{path}"]
    assert len(found) == 1, [str(i) for i in issues]
    assert rule in found[0].rule


CONDITIONAL = {
    "type": "choice",
    "values": [
        {"name": "sgd", "momentum": {"type": "uniform", "min": 0.0, "max": 0.9}},
        {"name": "adam", "beta1": {"type": "uniform", "min": 0.8, "max": 0.99}, "opts": {"eps": 1e-8}},
        "plain",
    ],
}


def test_a_choice_of_branches_is_a_conditional_space_that_round_trips() -> None:
    assert space_checks.check({"optimizer": CONDITIONAL}) == []
    tree = space.parse({"optimizer": CONDITIONAL, "lr": {"type": "loguniform", "min": 1e-4, "max": 1e-1}})
    assert tree.conditional and not space.parse({"lr": NESTED}).conditional
    assert [path for path, _ in tree.walk()] == [
        "optimizer",
        "optimizer.values[0].momentum",
        "optimizer.values[1].beta1",
        "lr",
    ]
    assert tree.to_json()["optimizer"] == CONDITIONAL  # constants in a branch stay constants


def test_every_branch_is_validated_at_its_exact_path() -> None:
    broken = {
        "type": "choice",
        "values": [
            {"name": "sgd", "momentum": {"type": "uniform", "min": 1.0, "max": 0.0}},
            {"name": "adam", "beta1": {"type": "uniform", "min": 0.8}},
            {"name": "x", "n": {"type": "lograndint", "min": 0, "max": 4}},
        ],
    }
    paths = {i.path: i.rule for i in space_checks.check({"optimizer": broken})}
    base = "tuneConfig.searchSpace.optimizer.values"
    assert paths[f"{base}[0].momentum.min"] == "must be < max"
    assert "is required" in paths[f"{base}[1].beta1.max"]
    assert "log scale" in paths[f"{base}[2].n.min"]


def test_choice_values_that_are_plain_objects_stay_constants() -> None:
    optimizers = {
        "type": "choice",
        "values": [{"type": "adam", "betas": [0.9, 0.99]}, {"type": "sgd"}, None, {"type": ["not", "a", "name"]}],
    }
    assert space_checks.check({"opt": optimizers}) == []


SPACE = {
    "lr": {"type": "loguniform", "min": 1e-4, "max": 1e-1},
    "layers": {"type": "grid", "values": [1, 2, 3]},
    "optimizer": {"name": "adam", "beta": {"type": "normal", "mean": 0.9, "sd": 0.01}},
    "width": {"type": "qrandint", "min": 8, "max": 64, "q": 8},
    "act": {"type": "choice", "values": [{"type": "relu"}, "tanh"]},
    "epochs": 3,
}


def test_parse_builds_typed_nodes_once_and_round_trips() -> None:
    tree = space.parse(SPACE)
    lr = tree.members["lr"]
    assert lr == space.FloatRange("loguniform", 1e-4, 1e-1)
    assert isinstance(lr, space.FloatRange) and lr.log and lr.bounds() == [1e-4, 1e-1]
    assert tree.members["width"] == space.IntRange("qrandint", 8, 64, 8) and space.IntRange.MAX_INCLUSIVE
    assert tree.members["epochs"] == space.Constant(3)
    optimizer = tree.members["optimizer"]
    assert isinstance(optimizer, space.Group) and optimizer.members["beta"] == space.Normal("normal", 0.9, 0.01)
    assert [key for key, _ in tree.domains()] == ["lr", "layers", "optimizer.beta", "width", "act"]
    assert tree.domain_types() == {"loguniform", "grid", "normal", "qrandint", "choice"}
    assert tree.to_json() == SPACE
    assert tree.grid_points() == 3 and space.parse({"a": 1}).grid_points() == 1
    assert tree.has_mutable and tree.has_bounded


def test_mutations_and_bounds_keep_what_pbt_and_pb2_can_use() -> None:
    tree = space.parse(SPACE)
    assert tree.bounds() == {"lr": [1e-4, 1e-1], "width": [8, 64]}  # numeric ranges only, nested as given
    mutations = tree.mutations()
    assert set(mutations) == {"lr", "optimizer", "width", "act"}  # grid is not mutable, constants are not domains
    assert set(mutations["optimizer"]) == {"beta"}
    only_grid = space.parse({"layers": {"type": "grid", "values": [1, 2]}, "x": 1})
    assert not only_grid.has_mutable and not only_grid.has_bounded and only_grid.mutations() == {}


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"type": "beta"}, "unknown domain type 'beta'"),
        ({"type": "uniform", "min": 0}, "has the keys min, max"),
        ({"type": "uniform", "min": 0, "max": 1, "step": 1}, "got max, min, step"),
    ],
)
def test_the_allow_list_refuses_what_is_not_a_domain(raw: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        space.domain(raw)


def test_validation_parses_through_the_same_tree_with_refused_nodes() -> None:
    raw = {
        "a": {"type": "uniform", "min": 2, "max": 1},
        "g": {"b": {"type": "gridd", "values": [1]}},
        "c": {"type": "choice", "values": [1, 2]},
    }
    tree, issues = space_checks.parse(raw)
    assert [i.path for i in issues] == ["tuneConfig.searchSpace.a.min", "tuneConfig.searchSpace.g.b.type"]
    assert tree.members["a"] == space.Refused("uniform", raw["a"])
    assert [node.type for _, node in tree.domains()] == ["uniform", "gridd", "choice"]
    assert tree.has_bounded and tree.has_mutable  # a refused domain may be either once fixed
    with pytest.raises(ValueError, match="refused by validation"):
        tree.to_tune()


def test_the_schema_describes_every_domain_type() -> None:
    import jsonschema

    from raydt.spec.schemas import input_schema

    schema = input_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$defs"]["TuneConfig"]["properties"]["searchSpace"]["$ref"] == "#/$defs/SearchSpace"
    described = schema["$defs"]["SearchSpace"]["additionalProperties"]["anyOf"]
    assert [d.get("title") for d in described[: len(space.DOMAINS)]] == list(space.DOMAINS)

    def valid(search: dict[str, Any]) -> bool:
        spec = {"mode": "tune", "config": {}, "tuneConfig": {"searchSpace": search}}
        return jsonschema.Draft202012Validator(schema).is_valid(spec)

    assert valid(SPACE)
    assert not valid({"lr": {"type": "uniform", "min": 0}})  # a missing key
    assert not valid({"lr": {"type": "logunifrom", "min": 0, "max": 1}})  # an unknown type
    assert not valid({"n": {"type": "randint", "min": 0.5, "max": 3}})  # integer bounds
    assert not valid({"opt": {"lr": {"type": "uniform", "min": 0}}})  # inside a group too
    assert valid({"opt": {"type": 3, "lr": {"type": "uniform", "min": 0, "max": 1}}})  # no string type: a group
