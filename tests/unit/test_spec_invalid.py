"""Bad specs: every problem reported at once, each with its path, the rule, the value and a hint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from raydt.errors import SpecError, SpecFileError
from raydt.spec import load
from tests.unit.helpers import issue_lines as issues_of

FIX = Path(__file__).resolve().parent.parent / "fixtures"


def one(spec: Any, path: str, *needles: str) -> None:
    found = [i for i in issues_of(spec) if i.startswith(path + ":")]
    assert found, f"no issue at {path}; got {issues_of(spec)}"
    for needle in needles:
        assert any(needle in i for i in found), f"{needle!r} not in {found}"


def train(**sections: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"mode": "train", "config": {}}
    spec.update(sections)
    return spec


CASES = [
    ("unknown-mode", {"mode": "trian", "config": {}}, "mode", ["must be one of", "did you mean 'train'"]),
    ("missing-mode", {"config": {}}, "mode", ["is required"]),
    ("missing-config", {"mode": "train"}, "config", ["is required"]),
    ("zero-workers", train(config={"numWorkers": 0}), "config.numWorkers", ["must be >= 1", "(got 0)"]),
    ("negative-workers", train(config={"numWorkers": -2}), "config.numWorkers", ["-2"]),
    ("huge-workers", train(config={"numWorkers": 10**12}), "config.numWorkers", ["<= 10000"]),
    ("string-workers", train(config={"numWorkers": "4"}), "config.numWorkers", ["valid integer", "'4'"]),
    ("float-workers", train(config={"numWorkers": 2.5}), "config.numWorkers", ["integer"]),
    ("bool-gpu", train(config={"useGpu": "yes"}), "config.useGpu", ["boolean"]),
    (
        "negative-cpu",
        train(config={"resourcesPerWorker": {"cpu": -1}}),
        "config.resourcesPerWorker.cpu",
        [">= 0"],
    ),
    (
        "gpu-without-useGpu",
        train(config={"resourcesPerWorker": {"gpu": 1}}),
        "config.resourcesPerWorker.gpu",
        ["must be 0 when config.useGpu is false", "useGpu=true"],
    ),
    (
        "useGpu-with-zero-gpu",
        train(config={"useGpu": True, "resourcesPerWorker": {"gpu": 0}}),
        "config.resourcesPerWorker.gpu",
        ["must be > 0"],
    ),
    (
        "zero-cpu-no-gpu",
        train(config={"resourcesPerWorker": {"cpu": 0}}),
        "config.resourcesPerWorker.cpu",
        ["> 0"],
    ),
    (
        "unknown-config-key",
        train(config={"numWorker": 2}),
        "config.numWorker",
        ["unknown key", "'numWorkers'"],
    ),
    ("unknown-top-key", train(trainConfg={}), "trainConfg", ["unknown key", "'trainConfig'"]),
    ("snake-case-key", train(config={"num_workers": 2}), "config.num_workers", ["unknown key", "numWorkers"]),
    (  # issue 26: a loop setting one level too high says where it belongs
        "loop-key-in-trainConfig",
        train(trainConfig={"model": "net.py:Net", "precision": "bf16"}),
        "trainConfig.precision",
        ["unknown key", "put it in trainConfig.trainLoopConfig (trainLoopConfig: {precision: ...})"],
    ),
    (
        "loop-alias-in-trainConfig",
        train(trainConfig={"batch_size": 8}),
        "trainConfig.batch_size",
        ["setting of the training loop"],
    ),
    (
        "unknown-resource",
        train(config={"resourcesPerWorker": {"cpus": 1}}),
        "config.resourcesPerWorker.cpus",
        ["'cpu'"],
    ),
    ("framework", train(trainConfig={"framework": "jax"}), "trainConfig.framework", ["pytorch", "'jax'"]),
    ("metric-mode", train(trainConfig={"metricMode": "minimize"}), "trainConfig.metricMode", ["'min'"]),
    ("empty-metric", train(trainConfig={"metric": ""}), "trainConfig.metric", ["at least 1"]),
    (
        "builtin-metric",
        train(trainConfig={"metric": "val_acc"}),
        "trainConfig.metric",
        ["not reported by the built-in", "val_accuracy"],
    ),
    (
        "builtin-param",
        train(trainConfig={"trainLoopConfig": {"learningrate": 0.1}}),
        "trainConfig.trainLoopConfig.learningrate",
        ["not a hyperparameter", "learning_rate"],
    ),
    (
        "param-type",
        train(trainConfig={"trainLoopConfig": {"batchSize": 3.5}}),
        "trainConfig.trainLoopConfig.batchSize",
        ["integer"],
    ),
    (
        "param-negative",
        train(trainConfig={"trainLoopConfig": {"lr": -0.1}}),
        "trainConfig.trainLoopConfig.lr",
        ["> 0"],
    ),
    (
        "param-duplicate",
        train(trainConfig={"trainLoopConfig": {"batchSize": 8, "batch_size": 16}}),
        "trainConfig.trainLoopConfig.batch_size",
        ["duplicates"],
    ),
    (
        "epochs-conflict",
        train(trainConfig={"epochs": 3, "trainLoopConfig": {"epochs": 4}}),
        "trainConfig.epochs",
        ["conflicts"],
    ),
    ("zero-epochs", train(trainConfig={"epochs": 0}), "trainConfig.epochs", [">= 1"]),
    (
        "scaling-unknown",
        train(trainConfig={"scalingConfig": {"numWorker": 2}}),
        "trainConfig.scalingConfig.numWorker",
        ["unknown ScalingConfig key", "numWorkers"],
    ),
    (
        "scaling-conflict",
        train(config={"numWorkers": 2}, trainConfig={"scalingConfig": {"numWorkers": 3}}),
        "trainConfig.scalingConfig.numWorkers",
        ["conflicts with config.numWorkers"],
    ),
    (
        "placement",
        train(trainConfig={"scalingConfig": {"placementStrategy": "spread"}}),
        "trainConfig.scalingConfig.placementStrategy",
        ["SPREAD"],
    ),
    (
        "trainer-format",
        train(trainConfig={"trainerPath": "train.py"}),
        "trainConfig.trainerPath",
        ["target:function"],
    ),
    (
        "trainer-missing-file",
        train(trainConfig={"trainerPath": "/nope/x.py:f"}),
        "trainConfig.trainerPath",
        ["does not exist"],
    ),
    (
        "trainer-dir",
        train(trainConfig={"trainerPath": f"{FIX}/:f"}),
        "trainConfig.trainerPath",
        ["not a directory"],
    ),
    (
        "trainer-missing-fn",
        train(trainConfig={"trainerPath": f"{FIX}/trainers.py:nope"}),
        "trainConfig.trainerPath",
        ["'nope' is not defined", "report_and_checkpoint"],
    ),
    (
        "trainer-signature",
        train(trainConfig={"trainerPath": f"{FIX}/bad_signature.py:train"}),
        "trainConfig.trainerPath",
        ["one argument (config) or none"],
    ),
    (
        "trainer-async",
        train(trainConfig={"trainerPath": f"{FIX}/bad_signature.py:train_async"}),
        "trainConfig.trainerPath",
        ["async"],
    ),
    (
        "trainer-module",
        train(trainConfig={"trainerPath": "no_such_pkg.mod:f"}),
        "trainConfig.trainerPath",
        ["cannot be found"],
    ),
    (
        "trainer-module-name",
        train(trainConfig={"trainerPath": "bad-name:f"}),
        "trainConfig.trainerPath",
        ["dotted identifiers"],
    ),
    ("tune-without-config", {"mode": "tune", "config": {}}, "tuneConfig", ["required when mode is 'tune'"]),
    ("tune-mode", {"mode": "tune", "config": {}, "tuneConfig": {"mode": "up"}}, "tuneConfig.mode", ["'min'"]),
    (
        "num-samples",
        {"mode": "tune", "config": {}, "tuneConfig": {"numSamples": 0}},
        "tuneConfig.numSamples",
        [">= 1"],
    ),
    (
        "run-name",
        train(runConfig={"name": "../escape"}),
        "runConfig.name",
        ["letters, digits", "(got '../escape')", "e.g. 'escape'"],
    ),
    (
        "run-name-spaces",
        train(runConfig={"name": "my first run"}),
        "runConfig.name",
        ["must start with a letter or digit", "'.', '_' and '-'", "at most 128", "e.g. 'my-first-run'"],
    ),
    ("run-name-long", train(runConfig={"name": "a" * 129}), "runConfig.name", ["at most 128 characters"]),
    ("keep", train(runConfig={"checkpoint": {"numToKeep": 0}}), "runConfig.checkpoint.numToKeep", [">= 1"]),
    ("config-not-object", {"mode": "train", "config": [1]}, "config", ["object"]),
    (
        "union-tags-left-out",
        {"mode": "serve", "config": {"numWorkers": {"min": 1, "max": "2"}}, "serveConfig": {"numReplicas": {"max": 2}}},
        "serveConfig.numReplicas.min",
        ["is required"],
    ),
    (
        "nan",
        train(config={"resourcesPerWorker": {"cpu": float("nan")}}),
        "config.resourcesPerWorker.cpu",
        ["finite"],
    ),
    ("address-empty", train(config={"address": ""}), "config.address", ["at least 1"]),
    (
        "skill-wrapper-path",
        {"kind": "skill", "skill": {"context": {"mode": "train", "config": {"numWorkers": 0}}}},
        "skill.context.config.numWorkers",
        [">= 1"],
    ),
    (
        "gpu-for-a-cpu-framework",
        train(config={"useGpu": True}, trainConfig={"framework": "lightgbm"}),
        "config.useGpu",
        ["framework 'lightgbm' declares no GPU support", "(got True)", "Set config.useGpu=false"],
    ),
    (
        "gpu-replica-for-a-cpu-framework",
        train(trainConfig={"framework": "lightgbm"}, serveConfig={"resourcesPerReplica": {"gpu": 1}}),
        "serveConfig.resourcesPerReplica.gpu",
        ["framework 'lightgbm' declares no GPU support", "resourcesPerReplica.gpu to 0"],
    ),
    (
        "lightgbm-num-leaves",
        train(trainConfig={"framework": "lightgbm", "trainLoopConfig": {"num_leaves": 1}}),
        "trainConfig.trainLoopConfig.num_leaves",
        ["must be >= 2", "Default is 31"],
    ),
    (
        "lightgbm-xgboost-name",
        train(trainConfig={"framework": "lightgbm", "trainLoopConfig": {"eta": 0.1}}),
        "trainConfig.trainLoopConfig.eta",
        ["not a hyperparameter of the built-in lightgbm trainer", "learning_rate"],
    ),
    (
        "skill-name",
        {"kind": "skill", "skill": {"name": "other", "context": {}}},
        "skill.name",
        ["ray-distributed-trainer"],
    ),
    (
        "skill-context",
        {"kind": "skill", "skill": {"name": "ray-distributed-trainer"}},
        "skill.context",
        ["object"],
    ),
]


@pytest.mark.parametrize(("spec", "path", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_spec_names_path_rule_and_value(spec: Any, path: str, needles: list[str]) -> None:
    one(spec, path, *needles)


def test_pattern_rules_are_words_not_regexes() -> None:
    for spec in (
        train(runConfig={"name": "my run"}),
        {"mode": "serve", "config": {}, "serveConfig": {"routePrefix": "a b"}},
    ):
        for issue in issues_of(spec):
            assert "pattern" not in issue and "[A-Za-z" not in issue, issue


def test_union_branch_names_never_reach_a_path() -> None:
    spec = {
        "mode": "serve",
        "config": {"numWorkers": {"min": 1, "max": "2"}},
        "serveConfig": {"numReplicas": {"min": "a", "max": 2}},
        "dataConfig": {"train": {"format": "csv", "paths": 5}},
    }
    paths = {i.split(":")[0] for i in issues_of(spec)}
    assert {"config.numWorkers.max", "serveConfig.numReplicas.min", "dataConfig.train.paths"} <= paths
    assert not [p for p in paths if any(t in p for t in ("constrained", "Range", "list[", ".str", ".int"))], paths


def test_every_problem_is_reported_at_once() -> None:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 0, "useGpu": "no", "extra": 1},
        "trainConfig": {"framework": "jax", "trainerPath": "/missing.py:f"},
    }
    paths = {i.split(":")[0] for i in issues_of(spec)}
    assert {
        "config.numWorkers",
        "config.useGpu",
        "config.extra",
        "trainConfig.framework",
        "trainConfig.trainerPath",
    } <= paths


def test_error_object_lists_issues_with_values() -> None:
    with pytest.raises(SpecError) as info:
        load({"mode": "train", "config": {"numWorkers": -1}})
    data = info.value.to_dict()
    assert data["code"] == "SPEC_INVALID"
    assert data["issues"][0]["path"] == "config.numWorkers"
    assert data["issues"][0]["value"] == -1
    assert data["hint"]


FILE_CASES = [
    ("empty.json", "", "is empty"),
    ("blank.yaml", "   \n", "is empty"),
    ("broken.json", '{"mode": "train",', "not valid JSON"),
    ("broken.yaml", "mode: [train\n", "not valid YAML"),
    ("list.json", "[1, 2]", "must be an object"),
    ("scalar.yaml", "just a string\n", "must be an object"),
    ("spec.txt", "mode: train", "must end in .json, .yaml or .yml"),
    ("deep.json", "[" * 100000 + "]" * 100000, "nested too deeply"),
    # a key given twice was silently the last one (issue 26): refused at its line, with where it came first
    ("dup.yaml", "mode: train\nconfig: {}\nmode: tune\n", "duplicate key 'mode' at line 3, column 1 (first at line 1"),
    ("nested-dup.yaml", "mode: train\nconfig:\n  numWorkers: 1\n  numWorkers: 2\n", "'numWorkers' at line 4, column 3"),
    ("dup.json", '{"mode": "train", "config": {}, "mode": "tune"}', "not valid JSON: duplicate key 'mode'"),
]


@pytest.mark.parametrize(("name", "text", "needle"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_spec_files(tmp_path: Path, name: str, text: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SpecFileError) as info:
        load(path)
    assert needle in info.value.message
    assert info.value.exit_code == 2


def test_yaml_merge_keys_may_still_be_overridden(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text("x-workers: &w {numWorkers: 1, useGpu: false}\nmode: train\nconfig:\n  <<: *w\n  numWorkers: 2\n")
    with pytest.raises(SpecError) as info:  # x-workers is no spec key; the merge itself reads fine
        load(path)
    assert [i.path for i in info.value.issues] == ["x-workers"]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SpecFileError, match="not found"):
        load(tmp_path / "nope.json")
    with pytest.raises(SpecFileError, match="is a directory"):
        load(tmp_path)


def test_checkpointing_rules(tmp_path: Path) -> None:
    base = {"mode": "train", "config": {}}
    one(
        {**base, "trainConfig": {"resumeFromCheckpoint": str(tmp_path / "nope")}},
        "trainConfig.resumeFromCheckpoint",
        "not a checkpoint directory",
    )
    tune = {"mode": "tune", "config": {}, "tuneConfig": {}, "trainConfig": {"resumeFromCheckpoint": str(tmp_path)}}
    one(tune, "trainConfig.resumeFromCheckpoint", "mode train")
    user = {
        **base,
        "trainConfig": {"trainerPath": f"{FIX}/trainers.py:no_args"},
        "runConfig": {"checkpoint": {"frequency": 2}},
    }
    one(user, "runConfig.checkpoint.frequency", "built-in trainers")


def test_builtin_settings_travel_under_the_reserved_key(tmp_path: Path) -> None:
    from raydt import plan

    spec = {
        "mode": "train",
        "config": {},
        "trainConfig": {"resumeFromCheckpoint": str(tmp_path)},
        "runConfig": {"checkpoint": {"frequency": 3}},
    }
    p = plan.train(load(spec))
    assert p.loop_config["_raydt"] == {"checkpointFrequency": 3, "resumeFrom": str(tmp_path)}
    user = {
        "mode": "train",
        "config": {},
        "trainConfig": {"trainerPath": f"{FIX}/trainers.py:no_args", "resumeFromCheckpoint": str(tmp_path)},
    }
    assert plan.train(load(user)).loop_config == {"resumeFromCheckpoint": str(tmp_path)}


def test_serve_specs_are_checked(tmp_path: Path) -> None:
    ok = load({"mode": "serve", "config": {}, "serveConfig": {"checkpointPath": str(tmp_path)}})
    assert ok.spec.serve_config is not None and ok.spec.serve_config.host == "127.0.0.1"
    assert ok.spec.serve_config.port == 8000 and ok.spec.serve_config.route_prefix == "/"
    c = {"checkpointPath": str(tmp_path)}
    cases = [
        ({}, "serveConfig", "is required when mode is 'serve'"),
        ({"serveConfig": {}}, "serveConfig", "exactly one of checkpointPath, experimentPath and models"),
        ({"serveConfig": {**c, "experimentPath": str(tmp_path)}}, "serveConfig", "exactly one"),
        ({"serveConfig": {"checkpointPath": str(tmp_path / "no")}}, "serveConfig.checkpointPath", "existing directory"),
        ({"serveConfig": {**c, "port": 70000}}, "serveConfig.port", "65535"),
        ({"serveConfig": {**c, "routePrefix": "api"}}, "serveConfig.routePrefix", "must start with '/'"),
        ({"serveConfig": {**c, "numReplicas": {"min": 3, "max": 2}}}, "serveConfig.numReplicas", "min must be <= max"),
        ({"serveConfig": {**c, "numReplicas": {"min": "a", "max": 2}}}, "serveConfig.numReplicas.min", "integer"),
        ({"serveConfig": {**c, "authToken": "short"}}, "serveConfig.authToken", "at least 8"),
        ({"serveConfig": {**c, "predictorPath": "nofunction"}}, "serveConfig.predictorPath", "target:function"),
        ({"serveConfig": {**c, "maxBatchSize": 0}}, "serveConfig.maxBatchSize", ">= 1"),
    ]
    for extra, path, needle in cases:
        with pytest.raises(SpecError) as info:
            load({"mode": "serve", "config": {}, **extra})
        found = {i.path: str(i) for i in info.value.issues}
        assert path in found and needle in found[path], (extra, found)


def test_serve_config_on_train_and_tune_specs(tmp_path: Path) -> None:
    ok = load({"mode": "train", "config": {}, "serveConfig": {"port": 8123}})
    assert ok.spec.serve_config is not None and ok.spec.serve_config.port == 8123
    with pytest.raises(SpecError) as info:
        load({"mode": "train", "config": {}, "serveConfig": {"checkpointPath": str(tmp_path)}})
    assert info.value.issues[0].path == "serveConfig.checkpointPath"
    assert "the run's best checkpoint is served" in info.value.issues[0].rule
    with pytest.raises(SpecError) as info:
        load({"mode": "cluster", "config": {}, "serveConfig": {}})
    assert "does not apply to mode 'cluster'" in info.value.issues[0].rule


def test_non_loopback_serving_warns_about_authentication() -> None:
    from raydt.runners.serve import bind_warnings

    assert bind_warnings("127.0.0.1", None) == [] and bind_warnings("localhost", None) == []
    (open_bind,) = bind_warnings("0.0.0.0", None)
    assert "no authentication of its own" in open_bind and "serveConfig.authToken" in open_bind
    (guarded,) = bind_warnings("10.0.0.5", "a-long-token")
    assert "requests need the bearer token" in guarded


def test_serve_token_comes_from_the_spec_or_the_environment(tmp_path: Path, monkeypatch: Any) -> None:
    from raydt.runners.serve import options

    sc = load({"mode": "serve", "config": {}, "serveConfig": {"checkpointPath": str(tmp_path)}}).spec.serve_config
    assert sc is not None
    monkeypatch.delenv("RAYDT_SERVE_TOKEN", raising=False)
    assert options(sc, str(tmp_path))["authToken"] is None
    monkeypatch.setenv("RAYDT_SERVE_TOKEN", "from-the-environment")
    assert options(sc, str(tmp_path))["authToken"] == "from-the-environment"


def test_data_config_is_checked_without_reading_the_data(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("a,b,y\n1,2,0\n")
    (tmp_path / "step.py").write_text("def f(df):\n    return df\n")
    src = {"format": "csv", "paths": str(tmp_path / "train.csv"), "label": "y"}

    def data(**dc: Any) -> dict[str, Any]:
        return train(dataConfig={"train": src, **dc})

    load(data(preprocess=[{"standardize": {}}, {"mapBatches": f"{tmp_path / 'step.py'}:f", "batchSize": 64}]))
    load(train(dataConfig={"train": {**src, "paths": str(tmp_path / "*.csv")}}))  # a glob that matches
    one(train(dataConfig={"train": {**src, "paths": "nowhere.csv"}}), "dataConfig.train.paths", "no such file")
    one(
        train(dataConfig={"train": {**src, "paths": str(tmp_path / "*.parquet")}}),
        "dataConfig.train.paths",
        "matches no",
    )
    one(train(dataConfig={"train": {**src, "label": None}}), "dataConfig.train.label", "required by the built-in")
    one(train(dataConfig={"train": {**src, "format": "images"}}), "dataConfig.train.format", "read tables")
    one(train(dataConfig={"train": {**src, "format": "xlsx"}}), "dataConfig.train.format", "csv")
    one(train(dataConfig={"train": {**src, "features": ["a", "y"]}}), "dataConfig.train.features", "label")
    one(data(validation=src, validationSplit=0.1), "dataConfig.validationSplit", "cannot be combined")
    one(data(validation={**src, "label": "z"}), "dataConfig.validation.label", "must equal")
    one(data(validationSplit=1.5), "dataConfig.validationSplit", "< 1")
    one(train(dataConfig={"train": {**src, "paths": 5}}), "dataConfig.train.paths", "must be a valid string")
    one(data(preprocess=[{"standardise": {}}]), "dataConfig.preprocess[0]", "unknown preprocessing step", "standardize")
    one(data(preprocess=[{"oneHot": {}}]), "dataConfig.preprocess[0].oneHot.columns", "is required")
    one(data(preprocess=[{"oneHot": {"columns": "city"}}]), "dataConfig.preprocess[0].oneHot.columns", "list")
    one(data(preprocess=[{"cast": {"columns": ["a"], "to": "float"}}]), "dataConfig.preprocess[0].cast.to", "float32")
    one(data(preprocess=[{"fillNa": {"strategy": "median"}}]), "dataConfig.preprocess[0].fillNa.strategy", "unknown")
    one(data(preprocess=[{"fillNa": {"strategy": "constant"}}]), "dataConfig.preprocess[0].fillNa.value", "required")
    one(data(preprocess=[{"standardize": {"cols": ["a"]}}]), "dataConfig.preprocess[0].standardize.cols", "columns")
    one(data(preprocess=[{"standardize": {}, "minMaxScale": {}}]), "dataConfig.preprocess[0]", "exactly one key")
    one(data(preprocess=[{"mapBatches": "nofile.py:f"}]), "dataConfig.preprocess[0].mapBatches", "file not found")
    one(data(preprocess=[{"mapBatches": "f"}]), "dataConfig.preprocess[0].mapBatches", "target:function")
    one(
        data(preprocess=[{"map_batches": f"{tmp_path / 'step.py'}:f", "batchSize": 0}]),
        "dataConfig.preprocess[0].batchSize",
        ">= 1",
    )
    one(data(preprocess=["standardize"]), "dataConfig.preprocess.0", "dictionary")
    one({"mode": "cluster", "config": {}, "dataConfig": {"train": src}}, "dataConfig", "does not apply")
    fn = tmp_path / "tune_fn.py"
    fn.write_text("import ray.tune\n\ndef objective(config):\n    ray.tune.report({'loss': 1.0})\n")
    tune_spec = {
        "mode": "tune",
        "config": {},
        "trainConfig": {"trainerPath": f"{fn}:objective", "metric": "loss"},
        "tuneConfig": {"searchSpace": {"x": {"type": "uniform", "min": 0, "max": 1}}, "metric": "loss", "mode": "min"},
        "dataConfig": {"train": src},
    }
    one(tune_spec, "dataConfig", "Ray Tune function trainable")
