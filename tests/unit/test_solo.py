"""The fast path of 1-worker train runs (``runners.solo``): which runs take it, the actor's resources, the restart
budgets, and Ray Train's checkpoint bookkeeping on real files (``ray_compat.solo``; no Ray starts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from raydt import plan, ray_config
from raydt.spec import loader

ray = pytest.importorskip("ray")
VERSION = f"Ray {ray.__version__} changed a non-public API raydt relies on (see raydt/ray_compat/solo.py): "


def train_plan(tmp_path: Path, config: dict[str, Any], **run: Any) -> plan.TrainPlan:
    spec = {"mode": "train", "config": config, "runConfig": {"storagePath": str(tmp_path), **run}}
    return plan.train(loader.load(spec))


@pytest.mark.parametrize(
    ("config", "run", "solo"),
    [
        ({"numWorkers": 1}, {}, True),
        ({"numWorkers": 1}, {"fastPath": False}, False),
        ({"numWorkers": 2}, {}, False),
        ({"numWorkers": {"min": 1, "max": 2}}, {}, False),
    ],
)
def test_only_a_fixed_single_worker_run_takes_the_fast_path(
    tmp_path: Path, config: dict[str, Any], run: dict[str, Any], solo: bool
) -> None:
    assert train_plan(tmp_path, config, **run).solo is solo


def test_the_fast_path_can_be_switched_off_and_must_be_a_boolean(tmp_path: Path) -> None:
    from raydt.errors import SpecError

    with pytest.raises(SpecError, match="runConfig.fastPath"):
        train_plan(tmp_path, {"numWorkers": 1}, fastPath="sometimes")


def test_the_actor_reserves_what_the_worker_would(tmp_path: Path) -> None:
    p = train_plan(tmp_path, {"numWorkers": 1, "resourcesPerWorker": {"cpu": 2, "memoryGb": 1}})
    assert ray_config.solo_actor(p.workers) == {
        "num_cpus": 2.0,
        "num_gpus": 0.0,
        "memory": 1e9,
        "max_restarts": 0,
        "max_task_retries": 0,
    }
    gpu = train_plan(tmp_path, {"numWorkers": 1, "useGpu": True, "resourcesPerWorker": {"cpu": 1, "gpu": 1}})
    options = ray_config.solo_actor(gpu.workers)
    assert (options["num_cpus"], options["num_gpus"]) == (1.0, 1.0)
    assert ray_config.scaling(gpu.workers).resources_per_worker == {"CPU": 1.0, "GPU": 1.0}


def test_lost_workers_and_preemptions_spend_their_own_budgets(tmp_path: Path) -> None:
    from raydt.runners.solo import Budget

    budget = Budget(train_plan(tmp_path, {"numWorkers": 1}, maxFailures=1, maxPreemptions=2))
    assert [budget.spend(preempted=True) for _ in range(3)] == [True, True, False]
    assert [budget.spend(preempted=False) for _ in range(2)] == [True, False]
    unlimited = Budget(train_plan(tmp_path, {"numWorkers": 1}, maxFailures=0))
    assert all(unlimited.spend(preempted=True) for _ in range(50))  # maxPreemptions null: no limit
    assert unlimited.spend(preempted=False) is False  # maxFailures 0: the first loss fails the run


def _checkpoint(tmp_path: Path, epoch: int) -> Any:
    folder = tmp_path / "local" / f"e{epoch}"
    folder.mkdir(parents=True)
    (folder / "model.txt").write_text(str(epoch))
    return ray.train.Checkpoint.from_directory(str(folder))


def test_checkpoints_are_persisted_pruned_by_score_and_restored_as_a_train_run_does(tmp_path: Path) -> None:
    """What Ray Train's controller does for a run's checkpoints, done on the one worker: copied into
    ``<storage>/<name>/checkpoint_*``, the ``numToKeep`` best by the score and the latest, and a snapshot that a
    later attempt (a retry, ``raydt resume``) restores the latest from."""
    import ray.train

    from raydt.ray_compat.solo import SoloCheckpoints

    config = ray.train.CheckpointConfig(
        num_to_keep=2, checkpoint_score_attribute="val_loss", checkpoint_score_order="min"
    )
    storage = tmp_path / "results"
    first = SoloCheckpoints(str(storage), "run", config)
    assert first.latest() is None
    kept = [first.save(_checkpoint(tmp_path, e), {"val_loss": loss}) for e, loss in enumerate([0.5, 0.2, 0.4, 0.9])]
    run = storage / "run"
    assert all(Path(c.path).parent == run and Path(c.path).name.startswith("checkpoint_") for c in kept)
    left = sorted(p.name for p in run.glob("checkpoint_*") if p.is_dir())
    # Ray Train's rule: the numToKeep best (0.2, 0.4), and the latest (0.9) even when it is worse
    assert left == sorted(Path(kept[i].path).name for i in (1, 2, 3))
    assert (Path(kept[1].path) / "model.txt").read_text() == "1"
    assert "checkpoint_manager_snapshot.json" in {p.name for p in run.iterdir()}, VERSION + "no snapshot"
    json.loads((run / "checkpoint_manager_snapshot.json").read_text())
    again = SoloCheckpoints(str(storage), "run", config)
    latest = again.latest()
    assert latest is not None and Path(latest.path).name == Path(kept[3].path).name


def test_the_bridge_is_ray_trains_context_while_the_loop_runs(tmp_path: Path) -> None:
    import ray.train

    from raydt.ray_compat.solo import SoloBridge, SoloCheckpoints, solo_train_api

    sent: list[dict[str, Any]] = []
    checkpoints = SoloCheckpoints(str(tmp_path / "results"), "run", ray.train.CheckpointConfig())
    with solo_train_api(SoloBridge("run", checkpoints, sent.append, None)):
        assert ray.train.get_checkpoint() is None
        assert ray.train.get_context().get_world_size() == 1
        ray.train.report({"loss": 1.0})
        ray.train.report({"loss": 0.5}, checkpoint=_checkpoint(tmp_path, 1))
        restored = ray.train.get_checkpoint()
    assert [s["metrics"] for s in sent] == [{"loss": 1.0}, {"loss": 0.5}]
    assert sent[0]["checkpoint"] is None and sent[1]["checkpoint"] == restored.path
    assert Path(restored.path).parent == tmp_path / "results" / "run"


def test_metrics_ray_cannot_serialize_fail_the_report_as_in_a_train_run(tmp_path: Path) -> None:
    import threading

    import ray.train

    from raydt.ray_compat.solo import SoloBridge, SoloCheckpoints, solo_train_api

    sent: list[dict[str, Any]] = []
    checkpoints = SoloCheckpoints(str(tmp_path / "results"), "run", ray.train.CheckpointConfig())
    with solo_train_api(SoloBridge("run", checkpoints, sent.append, None)):
        with pytest.raises(TypeError, match="pickle"):
            ray.train.report({"loss": 1.0, "handle": threading.Lock()})
    assert sent == []
