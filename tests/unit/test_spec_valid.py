"""Good specs load, with the defaults and resolved values the docs promise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raydt import plan
from raydt.spec import load

SEED_EXAMPLE = {
    "kind": "skill",
    "title": "Distributed hyperparameter tuning",
    "skill": {
        "name": "ray-distributed-trainer",
        "context": {
            "mode": "tune",
            "config": {"numWorkers": 4, "useGpu": True, "resourcesPerWorker": {"cpu": 2, "gpu": 1}},
            "tuneConfig": {
                "searchSpace": {
                    "lr": {"type": "loguniform", "min": 1e-5, "max": 1e-1},
                    "batchSize": {"type": "choice", "values": [16, 32, 64]},
                },
                "scheduler": "asha",
                "numSamples": 100,
                "metric": "val_loss",
                "mode": "min",
            },
        },
    },
}


def test_seed_usage_example_loads_through_the_skill_wrapper() -> None:
    loaded = load(SEED_EXAMPLE)
    assert loaded.spec.mode == "tune"
    assert loaded.spec.config.num_workers == 4
    assert loaded.spec.tune_config is not None and loaded.spec.tune_config.num_samples == 100
    workers = plan.workers(loaded)
    assert workers.resources == {"CPU": 2.0, "GPU": 1.0}
    assert workers.total() == {"CPU": 8.0, "GPU": 4.0}


def test_minimal_train_spec_gets_explicit_defaults(tmp_path: Path) -> None:
    loaded = load({"mode": "train", "config": {}, "runConfig": {"storagePath": str(tmp_path)}})
    p = plan.train(loaded)
    assert p.workers.num_workers == 1
    assert p.workers.resources == {"CPU": 1.0}  # never implicit: always an explicit CPU request
    assert p.metric == "val_loss" and p.metric_mode == "min"
    assert p.loop_config == {"lr": 0.01, "batchSize": 32, "epochs": 5, "hiddenSize": 64}
    assert p.storage_path == str(tmp_path.resolve())
    assert p.name.startswith("raydt-train-")


def test_use_gpu_defaults_to_one_gpu_per_worker() -> None:
    p = plan.workers(load({"mode": "train", "config": {"numWorkers": 3, "useGpu": True}}))
    assert p.resources == {"CPU": 1.0, "GPU": 1.0}
    assert p.total() == {"CPU": 3.0, "GPU": 3.0}


def test_fractional_gpu_and_zero_cpu_with_gpu() -> None:
    cfg = {"numWorkers": 2, "useGpu": True, "resourcesPerWorker": {"cpu": 0, "gpu": 0.5}}
    p = plan.workers(load({"mode": "train", "config": cfg}))
    assert p.resources == {"CPU": 0.0, "GPU": 0.5}


def test_scaling_config_supplies_values_and_ray_options() -> None:
    spec = {
        "mode": "train",
        "config": {},
        "trainConfig": {"scalingConfig": {"numWorkers": 2, "placementStrategy": "SPREAD"}},
    }
    p = plan.workers(load(spec))
    assert p.num_workers == 2 and p.placement_strategy == "SPREAD"


def test_snake_case_aliases_of_builtin_hyperparameters_fold_into_camel_case() -> None:
    spec = {
        "mode": "train",
        "config": {},
        "trainConfig": {"trainLoopConfig": {"batch_size": 16, "hidden_size": 8}},
    }
    p = plan.train(load(spec))
    assert p.loop_config["batchSize"] == 16 and p.loop_config["hiddenSize"] == 8
    assert "batch_size" not in p.loop_config


def test_epochs_shortcut_sets_loop_epochs() -> None:
    p = plan.train(load({"mode": "train", "config": {}, "trainConfig": {"epochs": 2}}))
    assert p.loop_config["epochs"] == 2


def test_yaml_reads_exponent_floats_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("mode: train\nconfig: {numWorkers: 2}\ntrainConfig:\n  trainLoopConfig: {lr: 1e-3}\n")
    p = plan.train(load(path))
    assert p.loop_config["lr"] == pytest.approx(0.001)


def test_yml_and_json_files_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    (tmp_path / "a.yml").write_text("mode: cluster\nconfig: {}\n")
    (tmp_path / "b.json").write_text(json.dumps({"mode": "cluster", "config": {}}))
    assert load(tmp_path / "a.yml").spec.mode == "cluster"
    assert load(str(tmp_path / "b.json")).spec.mode == "cluster"
    monkeypatch.setattr("sys.stdin", io.StringIO('{"mode": "cluster", "config": {}}'))
    assert load("-").origin == "<stdin>"


def test_trainer_path_resolves_against_spec_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "loop.py").write_text("def train(config):\n    pass\n")
    spec = tmp_path / "sub" / "spec.json"
    spec.write_text(json.dumps({"mode": "train", "config": {}, "trainConfig": {"trainerPath": "loop.py:train"}}))
    monkeypatch.chdir(tmp_path)
    p = plan.train(load(spec))
    assert p.trainer is not None and p.trainer.target == str(tmp_path / "sub" / "loop.py")


def test_module_trainer_path_is_accepted() -> None:
    spec = {
        "mode": "train",
        "config": {},
        "trainConfig": {"trainerPath": "raydt.frameworks.pytorch.trainer:train_loop"},
    }
    p = plan.train(load(spec))
    assert p.trainer is not None and not p.trainer.is_file


def test_address_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")
    assert plan.address(load({"mode": "cluster", "config": {}})) == "127.0.0.1:6379"
    spec = {"mode": "cluster", "config": {"address": "10.0.0.1:6379"}}
    assert plan.address(load(spec)) == "10.0.0.1:6379"  # the spec wins over the environment
