"""raydt explain on experiment folders laid out as failed runs leave them, one test per failure class: a train run
(``raydt_spec.json``, the train ledger ``raydt_train.jsonl`` with its ``worker_error`` event, the CLI's log file
``<storage>/logs/<name>-<time>-<pid>.log`` holding a log recorded from a real run) and a search (a trial folder
with Tune's ``error.txt``). The logs are tests/fixtures/explain/'s; a trainer's own exception is put into the
recorded shape of Ray Train's "Error in training function" block."""

from __future__ import annotations

import json
import shutil
import traceback
from pathlib import Path
from typing import Any

import pytest

from raydt.diagnose import explain
from raydt.experiment.ledger import clip_error
from tests.conftest import FIXTURES
from tests.unit.test_explain import LINES, experiment

CAPTURED = FIXTURES / "explain"
#: the real worker error Ray Train handed raydt's relay for a worker that failed its health check (recorded in the
#: train ledger of tests/integration/test_explain_real.py's unpicklable report)
HEALTH_CHECK = (
    "WorkerHealthCheckFailedError: A worker health check failed.\nWorker info: Worker(\n  actor=Actor("
    "RayTrainWorker, b15c480bbb0329b123b8e1a502000000),\n  metadata=ActorMetadata(\n    hostname='vm',\n"
    "    node_ip='127.0.0.2',\n    pid=18236,\n  ),\n)"
)


def trainer_error(exc: BaseException) -> str:
    """The worker error as the relay writes it: Ray Train's ``UserExceptionWithTraceback``, whose text is the
    trainer's traceback (``traceback.format_exc`` in the worker)."""
    try:
        raise exc
    except BaseException:  # noqa: BLE001 - formatted like Ray's worker does
        text = traceback.format_exc()
    return clip_error(f"UserExceptionWithTraceback: {text}")


def worker_log(*exception: str) -> str:
    """tests/fixtures/explain/module_missing.log (Ray Train's output of a real failed run) with the trainer's frame
    and exception replaced, after a Ray helper's own traceback recorded in the same run's log."""
    recorded = (CAPTURED / "module_missing.log").read_text().splitlines()
    prefix = recorded[9].split(" ", 2)[0] + " " + recorded[9].split(" ", 2)[1]  # "(RayTrainWorker pid=6194)"
    frame = [
        f'{prefix}   File "/home/me/proj/trainer.py", line 9, in train_loop',
        f"{prefix}     step(config)",
    ]
    body = recorded[:9] + frame + [f"{prefix} {line}" for line in exception] + recorded[12:]
    noise = (CAPTURED / "ray_helper_noise.log").read_text().splitlines()
    return "\n".join(noise + body) + "\n"


def train_folder(root: Path, log: str | None, errors: list[str], *, reports: tuple[int, int] = (1, 0)) -> Path:
    """A failed train run's folder: its spec, the ledger (``reports[0]`` reports, the worker failures, then
    ``reports[1]`` reports: a failure followed by a report was recovered from) and its log beside it."""
    storage = root / "results"
    exp = storage / "fit"
    exp.mkdir(parents=True)
    spec = {"mode": "train", "trainConfig": {"framework": "pytorch"}, "runConfig": {"name": "fit"}}
    (exp / "raydt_spec.json").write_text(json.dumps(spec))
    (exp / ".validate_storage_marker").write_text("")
    report = {"event": "report", "metrics": {"loss": 1.0}, "checkpoint": None, "time": 1.0}
    events: list[dict[str, Any]] = [{"event": "start", "time": 0.0}, *[report] * reports[0]]
    events += [{"event": "worker_error", "errors": {"0": error}, "time": 2.0} for error in errors]
    events += [report] * reports[1]
    (exp / "raydt_train.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    if log is not None:
        (storage / "logs").mkdir()
        (storage / "logs" / "fit-20261206-020240-18006.log").write_text(log)
    return exp


def explained(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    doc, code = explain(str(path))
    assert code == 0
    return list(doc["causes"]), list(doc["sources"])


RECORDED = [
    ("worker_killed.log", HEALTH_CHECK, "WORKER_DIED"),
    ("pickling.log", HEALTH_CHECK, "PICKLING_ERROR"),
    ("ray_oom_killer.log", HEALTH_CHECK, "OUT_OF_MEMORY"),
    (
        "module_missing.log",
        trainer_error(ModuleNotFoundError("No module named 'raydt_driver_only_helper'")),
        "MODULE_NOT_FOUND_ON_WORKERS",
    ),
    (
        "gloo_timeout.log",
        trainer_error(RuntimeError("[gloo/transport/tcp/unbound_buffer.cc:78] Timed out waiting 3000ms for recv")),
        "COLLECTIVE_TIMEOUT",
    ),
    ("object_store_full.log", "OutOfDiskError: Local disk is full", "OBJECT_STORE_FULL"),
]


@pytest.mark.parametrize(("captured", "error", "code"), RECORDED, ids=[c for _, _, c in RECORDED])
def test_a_failed_train_runs_folder_is_explained_from_its_log_and_ledger(
    tmp_path: Path, captured: str, error: str, code: str
) -> None:
    exp = train_folder(tmp_path, (CAPTURED / captured).read_text(), [error])
    causes, sources = explained(exp)
    assert causes and causes[0]["code"] == code, [(c["code"], c["evidence"]) for c in causes]
    assert causes[0]["summary"].startswith("the run") and "trials" not in causes[0]
    assert str(exp / "raydt_train.jsonl") in sources and any(
        s.endswith("fit-20261206-020240-18006.log") for s in sources
    )


@pytest.mark.parametrize(
    ("exc", "code", "needle"),
    [
        (ValueError("bad batch size: 0"), "USER_CODE_ERROR", "ValueError: bad batch size: 0"),
        (MemoryError(), "OUT_OF_MEMORY", "MemoryError"),
    ],
    ids=["user-code", "memory-error"],
)
def test_a_trainers_own_exception_in_a_train_folder(tmp_path: Path, exc: BaseException, code: str, needle: str) -> None:
    """The issue's case: a trainer raising ValueError or MemoryError, its log and ledger beside it; Ray's own
    tracebacks in the same log (a helper actor's ConnectionError, the controller's WorkerGroupError) are not it."""
    log = worker_log(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    exp = train_folder(tmp_path, log, [trainer_error(exc)])
    (first, *_), _ = explained(exp)
    assert first["code"] == code and first["summary"].startswith("the run"), first
    if code == "USER_CODE_ERROR":
        assert first["summary"] == f"the run raised an exception in the trainer ({needle})"
        assert any('File "/home/me/proj/trainer.py", line 9' in ev["text"] for ev in first["evidence"])
    assert any(needle in ev["text"] for ev in first["evidence"])
    files = {Path(ev["file"]).name for ev in first["evidence"]}
    assert "raydt_train.jsonl" in files or code == "USER_CODE_ERROR", first["evidence"]


@pytest.mark.parametrize(("line", "code"), LINES, ids=[c + "-" + str(i) for i, (_, c) in enumerate(LINES)])
def test_the_train_ledger_alone_explains_each_class(tmp_path: Path, line: str, code: str) -> None:
    """No log found beside the folder (removed, or an older run's log named otherwise): the ledger's worker
    error, a traceback ending in the line of the class, is enough."""
    error = f'UserExceptionWithTraceback: Traceback (most recent call last):\n  File "/p/t.py", line 3, in f\n{line}\n'
    exp = train_folder(tmp_path, None, [error])
    causes, sources = explained(exp)
    assert causes and causes[0]["code"] == code and causes[0]["summary"].startswith("the run"), causes
    assert causes[0]["evidence"][0] == {"file": str(exp / "raydt_train.jsonl"), "line": 3, "text": line[:300]}
    assert sources == [str(exp / "raydt_train.jsonl")]


def test_the_train_ledger_alone_names_the_trainers_exception(tmp_path: Path) -> None:
    exp = train_folder(tmp_path, None, [trainer_error(ValueError("no such column: 'price'"))])
    (cause,), _ = explained(exp)
    assert cause["code"] == "USER_CODE_ERROR"
    assert cause["summary"] == "the run raised an exception in the trainer (ValueError: no such column: 'price')"
    assert any("test_explain_folders.py" in ev["text"] for ev in cause["evidence"])  # the user's own frame


def test_a_failure_the_run_recovered_from_is_a_restart(tmp_path: Path) -> None:
    exp = train_folder(tmp_path, None, [HEALTH_CHECK], reports=(2, 3))
    (cause,), _ = explained(exp)
    assert cause["code"] == "WORKER_DIED" and "restarted from its last checkpoint (1 time(s))" in cause["summary"]


def test_a_long_worker_traceback_keeps_its_exception_line() -> None:
    text = clip_error("UserExceptionWithTraceback: Traceback\n" + "  frame\n" * 2000 + "MemoryError")
    assert len(text) == 4000 and text.endswith("MemoryError") and text.startswith("UserExceptionWithTraceback")


TUNE_CLASSES = [(line, code) for line, code in LINES] + [("ValueError: the same bug every time", "USER_CODE_ERROR")]


@pytest.mark.parametrize(
    ("line", "code"), TUNE_CLASSES, ids=[c + "-" + str(i) for i, (_, c) in enumerate(TUNE_CLASSES)]
)
def test_a_failed_searchs_folder_is_explained_per_class(tmp_path: Path, line: str, code: str) -> None:
    """A search's folder: one trial failed with the class's line ending Tune's real error.txt (Ray's frames, the
    user's frame), one finished."""
    exp = experiment(tmp_path, ["user_error.txt", None])
    err = next(exp.glob("trial_*/error.txt"))
    recorded = err.read_text().split("Failure # 2")[0].splitlines()
    err.write_text("\n".join([*recorded[:-1], line]) + "\n")
    causes, _ = explained(exp)
    assert causes[0]["code"] == code and (causes[0]["trials"], causes[0]["totalTrials"]) == (1, 2), causes


def test_the_cli_names_an_unnamed_runs_log_after_its_experiment(tmp_path: Path) -> None:
    """``raydt run`` of a spec without runConfig.name: the experiment's generated name is fixed before the log
    file is named, so the log lies beside the folder under the folder's name (where explain looks)."""
    from raydt import experiment as exp_mod
    from raydt import plan
    from raydt.experiment.logs import log_file as _log_path
    from raydt.spec import loader

    spec = {"mode": "train", "config": {"numWorkers": 1}, "trainConfig": {"framework": "pytorch"},
            "runConfig": {"storagePath": str(tmp_path / "results")}}  # fmt: skip
    loaded = exp_mod.name_unnamed(loader.load(spec))
    name = plan.train(loaded).name
    assert name.startswith("raydt-train-") and loaded.raw["runConfig"]["name"] == name
    log = _log_path(loaded)
    assert log.parent == tmp_path / "results" / "logs" and log.name.startswith(f"{name}-")
    named = exp_mod.name_unnamed(loader.load({**spec, "runConfig": {**spec["runConfig"], "name": "mine"}}))
    assert named.spec.run_config.name == "mine"
    status = exp_mod.name_unnamed(loader.load({"mode": "cluster", "config": {}}))  # no experiment: no name
    assert status.spec.run_config.name is None
    shutil.rmtree(tmp_path / "results")
