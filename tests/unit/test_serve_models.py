"""serveConfig.models: the spec's rules (each at its path), the plan each model resolves to, and the catalog that
turns a plan into a Serve application's definition and a listing. No Ray."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from raydt.errors import RunError
from raydt.plan import serving
from raydt.plan.serving import ModelPlan, SourcePlan
from raydt.results.outputs import ServedModelInfo
from raydt.serving import catalog
from raydt.spec import load
from tests.unit.helpers import issues_by_path


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two checkpoints and an experiment under ``tmp_path`` (the spec's folder); the current directory elsewhere,
    so that relative paths resolve only against the spec's folder."""
    for name in ("ck_a", "ck_b", "exp_e"):
        (tmp_path / name).mkdir()
    (tmp_path / "pred.py").write_text("class P:\n    pass\n")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path


def served(dirs: Path, *models: dict[str, Any], **serve_config: Any) -> dict[str, Any]:
    return {"mode": "serve", "config": {}, "serveConfig": {"models": list(models), **serve_config}}


def ck(dirs: Path, name: str = "ck_a") -> str:
    return str(dirs / name)


def canary(dirs: Path, *weights: float, **first: Any) -> dict[str, Any]:
    variants = [{"checkpointPath": ck(dirs, "ck_a"), "weight": weights[0], **first}]
    variants += [{"checkpointPath": ck(dirs, "ck_b"), "weight": w} for w in weights[1:]]
    return {"name": "canary", "variants": variants}


def valid(dirs: Path) -> dict[str, Any]:
    return served(
        dirs,
        {"name": "a", "checkpointPath": ck(dirs, "ck_a")},
        {"name": "b", "checkpointPath": ck(dirs, "ck_b")},
        canary(dirs, 0.9, 0.1),
        {"name": "team.e-1", "ensemble": {"experimentPath": str(dirs / "exp_e"), "topK": 2, "combine": "vote"}},
    )


def issue_at(spec: dict[str, Any], path: str, *needles: str) -> str:
    found = issues_by_path(spec)
    assert path in found, f"no issue at {path}: {found}"
    for needle in needles:
        assert needle in found[path], (needle, found[path])
    return found[path]


# --- the spec


def test_a_multi_model_spec_validates(dirs: Path) -> None:
    sc = load(valid(dirs)).spec.serve_config
    assert sc is not None and sc.models is not None
    assert [m.name for m in sc.models] == ["a", "b", "canary", "team.e-1"]
    assert [m.sources() for m in sc.models] == [["checkpointPath"], ["checkpointPath"], ["variants"], ["ensemble"]]
    assert sc.models[3].ensemble is not None and sc.models[3].ensemble.top_k == 2


def test_raydt_validate_accepts_it_and_refuses_a_missing_checkpoint(
    dirs: Path, write_spec: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from raydt.cli import main

    assert main(["validate", str(write_spec(valid(dirs)))]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True
    bad = valid(dirs)
    bad["serveConfig"]["models"][1]["checkpointPath"] = str(dirs / "nowhere")
    assert main(["validate", str(write_spec(bad, "bad.json"))]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "SPEC_INVALID"
    assert [(i["path"], i["rule"]) for i in error["issues"]] == [
        ("serveConfig.models.1.checkpointPath", "must be an existing directory")
    ]


def test_model_names_must_be_unique(dirs: Path) -> None:
    spec = served(dirs, {"name": "a", "checkpointPath": ck(dirs)}, {"name": "a", "checkpointPath": ck(dirs, "ck_b")})
    issue_at(spec, "serveConfig.models.1.name", "must be unique among serveConfig.models")
    assert "serveConfig.models.0.name" not in issues_by_path(spec)


@pytest.mark.parametrize("extra", [{}, {"experimentPath": "EXP"}, {"ensemble": {"experimentPath": "EXP"}}])
def test_a_model_needs_exactly_one_source(dirs: Path, extra: dict[str, Any]) -> None:
    model: dict[str, Any] = {"name": "m", **json.loads(json.dumps(extra).replace("EXP", str(dirs / "exp_e")))}
    if extra:
        model["checkpointPath"] = ck(dirs)
    issue_at(
        served(dirs, model),
        "serveConfig.models.0",
        "needs exactly one of checkpointPath, experimentPath, ensemble and variants",
    )


def test_variants_weights_must_sum_to_1(dirs: Path) -> None:
    issue_at(served(dirs, canary(dirs, 0.5, 0.4)), "serveConfig.models.0.variants", "the weights must sum to 1", "0.9")
    load(served(dirs, canary(dirs, 0.7, 0.2, 0.1)))  # 0.7 + 0.2 + 0.1 is not exactly 1.0 in floats


def test_variant_names_must_be_unique_a_default_name_included(dirs: Path) -> None:
    two = served(dirs, canary(dirs, 0.5, 0.5, name="v2"))  # the second one's default name is v2
    issue_at(two, "serveConfig.models.0.variants.1.name", "must be unique among the model's variants", "v2")
    load(served(dirs, canary(dirs, 0.5, 0.5, name="stable")))


def test_a_variant_needs_exactly_one_of_checkpoint_and_experiment(dirs: Path) -> None:
    both = served(dirs, canary(dirs, 0.5, 0.5, experimentPath=str(dirs / "exp_e")))
    issue_at(both, "serveConfig.models.0.variants.0", "needs exactly one of checkpointPath and experimentPath")


@pytest.mark.parametrize(
    ("keys", "path", "rule"),
    [
        ({"minReplicas": 1}, "minReplicas", "autoscaling needs both minReplicas and maxReplicas"),
        ({"maxReplicas": 3}, "maxReplicas", "autoscaling needs both minReplicas and maxReplicas"),
        ({"replicas": 2, "minReplicas": 1, "maxReplicas": 3}, "replicas", "cannot be given with minReplicas"),
        ({"minReplicas": 4, "maxReplicas": 3}, "minReplicas", "must be <= maxReplicas"),
        ({"targetOngoingRequests": 4}, "targetOngoingRequests", "applies only to an autoscaling model"),
        ({"replicas": 2, "targetOngoingRequests": 4}, "targetOngoingRequests", "applies only to an autoscaling"),
    ],
)
def test_replica_rules(dirs: Path, keys: dict[str, Any], path: str, rule: str) -> None:
    issue_at(served(dirs, {"name": "m", "checkpointPath": ck(dirs), **keys}), f"serveConfig.models.0.{path}", rule)


def test_autoscaling_keys_that_fit_validate(dirs: Path) -> None:
    model = {"name": "m", "checkpointPath": ck(dirs), "minReplicas": 0, "maxReplicas": 3, "targetOngoingRequests": 4}
    load(served(dirs, model))


def test_models_exclude_serve_configs_own_checkpoint(dirs: Path) -> None:
    spec = served(dirs, {"name": "a", "checkpointPath": ck(dirs)}, checkpointPath=ck(dirs, "ck_b"))
    issue_at(spec, "serveConfig", "needs exactly one of checkpointPath, experimentPath and models")


def test_models_are_refused_in_mode_train(dirs: Path) -> None:
    spec = {**served(dirs, {"name": "a", "checkpointPath": ck(dirs)}), "mode": "train"}
    issue_at(spec, "serveConfig.models", "must be left out in mode 'train'")


def test_a_missing_checkpoint_directory_is_named_by_its_path(dirs: Path) -> None:
    spec = served(dirs, {"name": "a", "checkpointPath": ck(dirs)}, {"name": "b", "checkpointPath": "no_such_dir"})
    issue_at(spec, "serveConfig.models.1.checkpointPath", "must be an existing directory", "no_such_dir")
    ens = served(dirs, {"name": "e", "ensemble": {"experimentPath": str(dirs / "none")}})
    issue_at(ens, "serveConfig.models.0.ensemble.experimentPath", "must be an existing directory")


def test_a_registered_model_uri_needs_no_directory(dirs: Path) -> None:
    sc = load(served(dirs, {"name": "reg", "checkpointPath": "models:/churn@champion"})).spec.serve_config
    assert sc is not None and sc.models is not None and sc.models[0].checkpoint_path == "models:/churn@champion"


@pytest.mark.parametrize("name", ["-lead", "has space", "a/b", "x" * 49, ""])
def test_a_model_name_must_be_a_path_segment(dirs: Path, name: str) -> None:
    issue_at(served(dirs, {"name": name, "checkpointPath": ck(dirs)}), "serveConfig.models.0.name")


# --- the plan


def test_paths_resolve_against_the_specs_folder_and_serve_config_gives_the_defaults(
    dirs: Path, write_spec: Any
) -> None:
    spec = served(
        dirs,
        {"name": "a", "checkpointPath": "ck_a"},
        {"name": "b", "experimentPath": "exp_e", "replicas": 2, "resourcesPerReplica": {"cpu": 0.5, "gpu": 1},
         "predictorPath": "mypkg.mod:Other"},
        {"name": "c", "variants": [{"checkpointPath": "ck_a", "weight": 0.9}, {"name": "new", "experimentPath":
         "exp_e", "weight": 0.1}]},
        {"name": "reg", "checkpointPath": "models:/churn@champion"},
        numReplicas=3, resourcesPerReplica={"cpu": 2}, predictorPath="pred.py:P", framework="xgboost",
    )  # fmt: skip
    a, b, c, reg = serving.models(load(write_spec(spec)))
    assert a.kind == "single" and a.sources == (SourcePlan("a", str(dirs / "ck_a"), None),)
    assert (a.replicas, a.cpu, a.gpu, a.predictor, a.framework) == (3, 2.0, 0.0, f"{dirs / 'pred.py'}:P", "xgboost")
    assert b.sources == (SourcePlan("b", None, str(dirs / "exp_e")),)
    assert (b.replicas, b.cpu, b.gpu, b.predictor) == (2, 0.5, 1.0, "mypkg.mod:Other")
    assert c.kind == "variants" and c.sources == (
        SourcePlan("v1", str(dirs / "ck_a"), None, 0.9),
        SourcePlan("new", None, str(dirs / "exp_e"), 0.1),
    )
    assert reg.sources[0].checkpoint_path == "models:/churn@champion"


def test_an_ensemble_plan_keeps_its_experiment_top_k_and_rule(dirs: Path) -> None:
    (ens,) = serving.models(load(served(dirs, {"name": "e", "ensemble": {"experimentPath": str(dirs / "exp_e")}})))
    assert (ens.kind, ens.top_k, ens.combine) == ("ensemble", 3, "mean")
    assert ens.sources == (SourcePlan("e", None, str(dirs / "exp_e")),)


def test_autoscaling_takes_serves_defaults_or_serve_configs_range(dirs: Path) -> None:
    auto = {"name": "auto", "checkpointPath": ck(dirs), "minReplicas": 1, "maxReplicas": 4}
    aimed = {**auto, "name": "aimed", "targetOngoingRequests": 5}
    plain = {"name": "plain", "checkpointPath": ck(dirs)}
    first = serving.models(load(served(dirs, auto, aimed)))
    assert first[0].replicas == {
        "min": 1, "max": 4, "targetOngoingRequests": 2.0, "upscaleDelayS": 30.0, "downscaleDelayS": 600.0
    }  # fmt: skip
    assert isinstance(first[1].replicas, dict) and first[1].replicas["targetOngoingRequests"] == 5
    rng = {"min": 2, "max": 6, "targetOngoingRequests": 3, "upscaleDelayS": 7, "downscaleDelayS": 70}
    second = serving.models(load(served(dirs, auto, aimed, plain, numReplicas=rng)))
    assert second[0].replicas == {
        "min": 1, "max": 4, "targetOngoingRequests": 3, "upscaleDelayS": 7, "downscaleDelayS": 70
    }  # fmt: skip
    assert isinstance(second[1].replicas, dict) and second[1].replicas["targetOngoingRequests"] == 5
    assert second[2].replicas == {k: float(v) for k, v in rng.items()}


# --- the catalog


def plan(kind: str = "single", **keys: Any) -> ModelPlan:
    sources = {
        "single": (SourcePlan("m", "/ck/old", None),),
        "variants": (SourcePlan("v1", "/ck/one", None, 0.9), SourcePlan("v2", "/ck/two", None, 0.1)),
        "ensemble": (SourcePlan("m", None, "/exp/old"),),
    }[kind]
    base: dict[str, Any] = {"name": "m", "kind": kind, "sources": sources, "predictor": None, "framework": None,
                            "replicas": 1, "cpu": 1.0, "gpu": 0.0, "top_k": 3 if kind == "ensemble" else 0}  # fmt: skip
    return ModelPlan(**{**base, **keys})


def test_app_names_carry_the_generation() -> None:
    assert catalog.app_name("churn", 3) == "raydt-model-churn-g3"
    assert catalog.app_name("churn", 3) != catalog.app_name("churn", 4)


def test_replacing_a_single_models_checkpoint() -> None:
    with pytest.raises(RunError, match="has no variants"):
        catalog.replaced(plan(), "/ck/new", None, "v1")
    new = catalog.replaced(plan(), None, "/exp/new", None)
    assert new.sources == (SourcePlan("m", None, "/exp/new"),) and new.kind == "single"


def test_replacing_a_variant_keeps_the_weights_and_the_other_variants() -> None:
    for variant in (None, "v9"):
        with pytest.raises(RunError) as info:
            catalog.replaced(plan("variants"), "/ck/new", None, variant)
        assert "v1, v2" in info.value.message and f"given: {variant}" in info.value.message
    new = catalog.replaced(plan("variants"), "/ck/new", None, "v2")
    assert new.sources == (SourcePlan("v1", "/ck/one", None, 0.9), SourcePlan("v2", "/ck/new", None, 0.1))


def test_replacing_an_ensemble_needs_an_experiment() -> None:
    with pytest.raises(RunError, match="--experiment"):
        catalog.replaced(plan("ensemble"), "/ck/new", None, None)
    new = catalog.replaced(plan("ensemble"), None, "/exp/new", None)
    assert new.sources == (SourcePlan("m", None, "/exp/new"),) and new.top_k == 3


def checkpoint(tmp_path: Path, name: str, **meta: Any) -> str:
    from raydt.frameworks.checkpoint_format import write_meta

    (tmp_path / name).mkdir()
    write_meta(str(tmp_path / name), meta)
    return str(tmp_path / name)


def test_a_single_models_definition_reads_its_framework_from_the_checkpoint(tmp_path: Path) -> None:
    ck_dir = checkpoint(tmp_path, "ck", framework="xgboost", numClasses=2)
    asked: list[tuple[str | None, str | None]] = []

    def fetch(checkpoint: str | None, experiment: str | None) -> str:
        asked.append((checkpoint, experiment))
        return ck_dir

    defn = catalog.definition(plan(replicas=2), 4, {"maxBatchSize": 8}, fetch)
    assert asked == [("/ck/old", None)]
    assert defn["members"] == [{"name": "m", "checkpoint": ck_dir}]
    assert (defn["framework"], defn["app"], defn["generation"], defn["maxBatchSize"]) == (
        "xgboost", "raydt-model-m-g4", 4, 8
    )  # fmt: skip
    assert catalog.definition(plan(framework="sklearn"), 1, {}, fetch)["framework"] == "sklearn"  # the spec's wins
    info = ServedModelInfo.model_validate(catalog.listing(defn, "http://h:8000"))
    assert info.predict == "http://h:8000/models/m/predict" and info.metadata == "http://h:8000/models/m/metadata"
    assert info.resources_per_replica == {"CPU": 1.0, "GPU": 0.0} and info.replicas == 2 and info.combine is None


def test_a_variants_definition_has_one_weighted_member_each(tmp_path: Path) -> None:
    dirs = {"/ck/one": checkpoint(tmp_path, "one", framework="lightgbm"), "/ck/two": checkpoint(tmp_path, "two")}
    defn = catalog.definition(plan("variants"), 1, {}, lambda c, e: dirs[str(c)])
    assert defn["members"] == [
        {"name": "v1", "checkpoint": dirs["/ck/one"], "weight": 0.9},
        {"name": "v2", "checkpoint": dirs["/ck/two"], "weight": 0.1},
    ]
    assert defn["framework"] == "lightgbm" and defn["kind"] == "variants"
    ServedModelInfo.model_validate(catalog.listing(defn, "http://h:8000"))


def test_an_ensembles_members_must_share_their_classes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from raydt.serving import loading

    a = checkpoint(tmp_path, "a", framework="xgboost", data={"classes": ["no", "yes"]})
    b = checkpoint(tmp_path, "b", framework="xgboost", data={"classes": ["no", "yes"]})
    c = checkpoint(tmp_path, "c", framework="xgboost", data={"classes": ["cat", "dog"]})
    ranked: list[tuple[str, float | None]] = [(a, 0.1), (b, 0.2)]
    monkeypatch.setattr(loading, "top_checkpoints", lambda exp, k: ({"name": "loss", "mode": "min"}, ranked))

    def no_fetch(checkpoint: str | None, experiment: str | None) -> str:
        raise AssertionError("an ensemble ranks its experiment's checkpoints itself")

    defn = catalog.definition(plan("ensemble", combine="vote"), 2, {}, no_fetch)
    assert [m["name"] for m in defn["members"]] == ["m1", "m2"]
    assert defn["metric"] == {"name": "loss", "mode": "min", "value": 0.1} and defn["combine"] == "vote"
    info = ServedModelInfo.model_validate(catalog.listing(defn, "http://h:8000"))
    assert info.combine == "vote" and info.metric == defn["metric"]
    ranked[1] = (c, 0.2)
    with pytest.raises(RunError, match="different classes"):
        catalog.definition(plan("ensemble"), 2, {}, no_fetch)
    catalog.definition(plan("ensemble", predictor="mine:P"), 2, {}, no_fetch)  # a user predictor: not checked
