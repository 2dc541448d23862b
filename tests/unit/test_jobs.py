"""Ray Jobs without Ray: what ``raydt submit`` packs (real files in tmp folders), which dashboard and token it
picks, the first request against real local HTTP servers (a fake dashboard, a closed port, a server that never
answers), reading a job's result back from its log, and the CLI's early errors as real subprocesses.
The runs on a real cluster are in ``tests/integration/test_jobs.py``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from raydt.cli.job_entry import RESULT_MARKER
from raydt.errors import JobsError, JobsUnreachableError, OptionError, SpecError, UsageError
from raydt.jobs import commands, connect, package
from tests.conftest import ROOT, free_port, run_cli

RAYDT_PACKAGE = str(Path(package.__file__).resolve().parents[1])
JOB_ENV = ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_JOB_HEADERS")
TRAINER = "from helper import scale\n\ndef train_fn(config):\n    return scale(1)\n"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No connection settings from the developer's shell, and a state folder with no lasting cluster."""
    for var in JOB_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RAYDT_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """``code/mytrain.py`` (importing ``code/helper.py``) with a CSV beside it, and ``data/val.csv`` outside."""
    code, data = tmp_path / "proj" / "code", tmp_path / "proj" / "data"
    code.mkdir(parents=True)
    data.mkdir()
    (code / "mytrain.py").write_text(TRAINER)
    (code / "helper.py").write_text("def scale(x):\n    return 2 * x\n")
    (code / "train.csv").write_text("a,y\n1,0\n")
    (data / "val.csv").write_text("a,y\n2,1\n")
    return tmp_path / "proj"


def _train(project: Path, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {"trainerPath": f"{project / 'code' / 'mytrain.py'}:train_fn", "metric": "loss"},
        "runConfig": {"storagePath": str(project / "results"), "name": "mine"},
    }
    spec.update(extra)
    return spec


def _builtin(storage: str = "/srv/raydt_results") -> dict[str, Any]:
    """A spec with only built-in code: nothing needs to travel but raydt."""
    return {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {"framework": "pytorch", "epochs": 1, "metric": "val_loss"},
        "runConfig": {"storagePath": storage},
    }


def _issue_paths(err: SpecError) -> list[str]:
    return [issue.path for issue in err.issues]


# --- package.build ---------------------------------------------------------------------------------------------


def test_the_trainers_folder_travels_and_paths_inside_it_become_relative(project: Path) -> None:
    data = {
        "train": {"format": "csv", "paths": str(project / "code" / "train.csv"), "label": "y"},
        "validation": {"format": "csv", "paths": [str(project / "data" / "val.csv")], "label": "y"},
    }
    pack = package.build(_train(project, dataConfig=data), package.Options(), None)
    assert pack.runtime_env["working_dir"] == str(project / "code")
    assert pack.summary["workingDir"] == str(project / "code")
    assert pack.summary["files"] == 3 and pack.summary["bytes"] > 0, pack.summary  # trainer, helper, csv
    assert pack.spec["trainConfig"]["trainerPath"] == "mytrain.py:train_fn"
    assert pack.spec["dataConfig"]["train"]["paths"] == "train.csv"
    outside = str(project / "data" / "val.csv")
    assert pack.spec["dataConfig"]["validation"]["paths"] == [outside]  # outside the folder: stays absolute
    assert [w for w in pack.warnings if outside in w and "must exist on the cluster" in w], pack.warnings
    assert (pack.run_name, pack.mode) == ("mine", "train")


def test_paths_outside_the_folder_raise_no_warning_for_the_lasting_cluster_on_this_machine(project: Path) -> None:
    data = {"train": {"format": "csv", "paths": str(project / "data" / "val.csv"), "label": "y"}}
    lasting = {"python": "/opt/cluster py/bin/python"}
    pack = package.build(_train(project, dataConfig=data), package.Options(), lasting)
    assert pack.spec["dataConfig"]["train"]["paths"] == str(project / "data" / "val.csv")
    assert pack.warnings == []
    assert pack.entrypoint == "exec '/opt/cluster py/bin/python' -m raydt.cli.job_entry"  # quoted for the shell
    forced = package.build(_train(project), package.Options(python="/usr/bin/python3.11"), lasting)
    assert forced.entrypoint == "exec /usr/bin/python3.11 -m raydt.cli.job_entry"  # --python wins


def test_working_dir_option_must_be_a_folder(project: Path) -> None:
    for given in (str(project / "code" / "mytrain.py"), str(project / "nowhere")):
        with pytest.raises(OptionError) as info:
            package.build(_train(project), package.Options(working_dir=given), None)
        assert _issue_paths(info.value) == ["--working-dir"] and info.value.exit_code == 2
        assert info.value.issues[0].value == given
    pack = package.build(_train(project), package.Options(working_dir=str(project)), None)
    assert pack.runtime_env["working_dir"] == str(project)
    assert pack.spec["trainConfig"]["trainerPath"] == "code/mytrain.py:train_fn"


def test_code_with_no_common_folder_below_root_or_home_is_refused(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.path.commonpath([project, ROOT]) != "/":
        pytest.skip("the temporary folder and the checkout share a folder below /")
    steps = [{"mapBatches": f"{ROOT / 'tests' / 'fixtures' / 'data_trainers.py'}:shard_ids"}]
    data = {"train": {"format": "csv", "paths": str(project / "code" / "train.csv"), "label": "y"}, "preprocess": steps}
    with pytest.raises(OptionError) as info:  # /tmp/... and /work/...: only / is common
        package.build(_train(project, dataConfig=data), package.Options(), None)
    assert _issue_paths(info.value) == ["--working-dir"] and "no common folder" in str(info.value)
    assert info.value.issues[0].value == "/"

    monkeypatch.setenv("HOME", str(project))  # code/ and steps/ have only the home folder in common
    (project / "steps").mkdir()
    (project / "steps" / "step.py").write_text("def f(df):\n    return df\n")
    data["preprocess"] = [{"mapBatches": f"{project / 'steps' / 'step.py'}:f"}]
    with pytest.raises(OptionError) as info:
        package.build(_train(project, dataConfig=data), package.Options(), None)
    assert info.value.issues[0].value == str(project)
    pack = package.build(_train(project, dataConfig=data), package.Options(working_dir=str(project)), None)
    assert pack.spec["dataConfig"]["preprocess"] == [{"mapBatches": "steps/step.py:f"}]


def _sized(path: Path, mib: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(int(mib * 2**20))  # st_size counts, the disk does not


def test_a_folder_over_max_upload_is_refused_naming_the_biggest_entry(project: Path) -> None:
    _sized(project / "code" / "checkpoints" / "model.bin", 2)
    with pytest.raises(OptionError) as info:
        package.build(_train(project), package.Options(max_upload_mb=1), None)
    err = info.value
    assert _issue_paths(err) == ["--working-dir"] and err.issues[0].value == str(project / "code")
    assert "under 1 MiB" in err.issues[0].rule and "checkpoints (2.0 MiB)" in err.issues[0].rule, err.issues
    assert "--exclude" in err.hint
    pack = package.build(_train(project), package.Options(max_upload_mb=1, excludes=("checkpoints",)), None)
    assert pack.summary["files"] == 3  # the excluded folder is not counted


def test_excluded_folders_do_not_count_towards_the_limit(project: Path) -> None:
    code = project / "code"
    for folder in (".venv/lib", "__pycache__", "outputs/run1"):
        _sized(code / folder / "big.bin", 2)
    _sized(code / "helper.cpython-311.pyc", 2)
    pack = package.build(_train(project), package.Options(max_upload_mb=1, excludes=("outputs",)), None)
    assert pack.summary["files"] == 3 and pack.summary["bytes"] < 2**20, pack.summary
    assert "outputs" in pack.summary["excludes"] and ".venv" in pack.summary["excludes"]
    assert pack.runtime_env["excludes"] == pack.summary["excludes"]  # Ray skips what raydt did not count
    with pytest.raises(OptionError):  # without the custom pattern the outputs count
        package.build(_train(project), package.Options(max_upload_mb=1), None)


def test_a_relative_storage_path_is_refused_an_absolute_one_or_a_uri_is_kept(project: Path) -> None:
    for relative in ("results", "./raydt_results"):
        with pytest.raises(SpecError) as info:
            package.build(_builtin(relative), package.Options(), None)
        assert _issue_paths(info.value) == ["runConfig.storagePath"] and info.value.code == "SPEC_INVALID"
        assert info.value.issues[0].value == relative
    for kept in ("/shared/raydt", "s3://bucket/raydt", "~/raydt_results"):
        pack = package.build(_builtin(kept), package.Options(), None)
        assert pack.spec["runConfig"]["storagePath"] == kept


def test_serving_is_refused(project: Path) -> None:
    (project / "ckpt").mkdir()
    serve = {"checkpointPath": str(project / "ckpt"), "predictorPath": f"{project / 'code' / 'mytrain.py'}:P"}
    with pytest.raises(SpecError) as info:
        package.build({"mode": "serve", "config": {}, "serveConfig": serve}, package.Options(), None)
    assert _issue_paths(info.value) == ["mode"] and "not supported" in str(info.value)
    with pytest.raises(SpecError) as info:
        package.build(_train(project, serveConfig={"predictorPath": serve["predictorPath"]}), package.Options(), None)
    assert _issue_paths(info.value) == ["serveConfig"]  # train, then serve: not as a job either


def test_config_address_is_dropped_with_a_warning(project: Path) -> None:
    spec = _train(project)
    spec["config"]["address"] = "auto"
    pack = package.build(spec, package.Options(), None)
    assert "address" not in pack.spec["config"] and pack.spec["config"]["numWorkers"] == 1
    assert any(w.startswith("config.address was dropped") for w in pack.warnings), pack.warnings
    assert not package.build(_train(project), package.Options(), None).warnings


def test_a_run_without_a_name_gets_one_and_the_job_id_starts_with_it() -> None:
    first = package.build(_builtin(), package.Options(), None)
    second = package.build(_builtin(), package.Options(), None)
    assert first.run_name.startswith("raydt-train-") and first.spec["runConfig"]["name"] == first.run_name
    assert first.job_id.startswith(first.run_name + "-") and first.summary["runName"] == first.run_name
    assert first.job_id != second.job_id
    assert "workingDir" not in first.summary and "working_dir" not in first.runtime_env  # built-in code only
    assert first.summary["files"] == 0


def test_an_invalid_spec_raises_before_anything_is_packed(project: Path) -> None:
    spec = _train(project)
    spec["config"]["numWorkers"] = "two"
    spec["trainConfig"]["trainerPath"] = f"{project / 'code' / 'missing.py'}:fn"
    with pytest.raises(SpecError) as info:
        package.build(spec, package.Options(), None)
    assert {"config.numWorkers", "trainConfig.trainerPath"} <= set(_issue_paths(info.value)), info.value.issues
    assert not isinstance(info.value, OptionError)


def test_runtime_env_carries_raydt_the_spec_and_the_stop_wait(project: Path) -> None:
    pack = package.build(_train(project), package.Options(entrypoint_cpus=0.5, entrypoint_gpus=1), None)
    env = pack.runtime_env
    assert env["py_modules"] == [RAYDT_PACKAGE] and Path(RAYDT_PACKAGE, "cli", "job_entry.py").is_file()
    assert pack.summary["pyModules"] == [RAYDT_PACKAGE]
    assert json.loads(env["env_vars"][package.SPEC_ENV]) == pack.spec
    assert pack.spec["trainConfig"]["trainerPath"] == "mytrain.py:train_fn"  # the relative spec travels
    assert env["env_vars"]["RAY_JOB_STOP_WAIT_TIME_S"] == str(package.STOP_WAIT_S)
    assert all(isinstance(v, str) for v in env["env_vars"].values())  # Ray refuses non-string values
    assert pack.entrypoint == "exec python -m raydt.cli.job_entry" == pack.summary["entrypoint"]
    assert pack.entrypoint_resources == {"CPU": 0.5, "GPU": 1.0}

    bare = package.build(_builtin(), package.Options(ship_raydt=False), None)
    assert "py_modules" not in bare.runtime_env and bare.summary["pyModules"] == []
    assert "excludes" not in bare.runtime_env  # nothing is uploaded at all


def test_the_summary_fits_the_output_model(project: Path) -> None:
    from raydt import results

    pack = package.build(_train(project), package.Options(), None)
    target = connect.Target("http://127.0.0.1:8265", {}, None, None)
    submission = {**pack.summary, **target.describe(), "clusterRayVersion": "2.60.0"}
    doc = {"status": "success", "results": results.empty_results(), "jobId": pack.job_id, "submission": submission}
    assert results.finalize(doc)["submission"]["workingDir"] == str(project / "code")  # not an INTERNAL error


# --- connect.resolve / normalize -------------------------------------------------------------------------------


def test_address_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "https://from-ray-address:8443/")
    assert connect.resolve(None, None).address == "https://from-ray-address:8443"
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", "api-server:8265")
    assert connect.resolve(None, None).address == "http://api-server:8265"
    assert connect.resolve("10.0.0.5:8265", None).address == "http://10.0.0.5:8265"
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS")
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")  # a GCS address is not the Jobs API: ignored
    with pytest.raises(UsageError) as info:
        connect.resolve(None, None)
    assert "no Ray dashboard address" in info.value.message and info.value.exit_code == 2
    assert "--address" in info.value.hint


def test_normalize() -> None:
    assert connect.normalize(" 127.0.0.1:8265/ ") == "http://127.0.0.1:8265"
    assert connect.normalize("https://head.example:443") == "https://head.example:443"
    for bad in ("ray://head:10001", "grpc://head:8265"):
        with pytest.raises(UsageError) as info:
            connect.normalize(bad)
        assert repr(bad) in info.value.message and "8265" in info.value.hint


def test_token_sources_name_where_the_token_came_from_never_the_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    given, env_file = tmp_path / "given", tmp_path / "env-file"
    given.write_text("tok-from-flag\n")
    env_file.write_text("  tok-from-path  ")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(env_file))
    got = connect.resolve("h:8265", None)
    assert got.headers == {"Authorization": "Bearer tok-from-path"}
    assert got.token_source == f"file {env_file} (RAY_AUTH_TOKEN_PATH)"
    monkeypatch.setenv("RAY_AUTH_TOKEN", "tok-from-env")
    got = connect.resolve("h:8265", None)
    assert (got.headers["Authorization"], got.token_source) == ("Bearer tok-from-env", "RAY_AUTH_TOKEN")
    got = connect.resolve("h:8265", str(given))
    assert got.headers["Authorization"] == "Bearer tok-from-flag" and "--token-file" in str(got.token_source)
    for shown in (got.token_source, json.dumps(got.describe()), repr(got)):
        assert "tok-from" not in str(shown), shown
    monkeypatch.delenv("RAY_AUTH_TOKEN")
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH")
    none = connect.resolve("h:8265", None)
    assert none.headers == {} and none.describe() == {"address": "http://h:8265", "tokenSource": "none"}


def test_an_empty_or_unreadable_token_file_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text(" \n")
    for path, words in ((empty, "is empty"), (tmp_path / "missing", "cannot be read"), (tmp_path, "cannot be read")):
        with pytest.raises(UsageError) as info:
            connect.resolve("h:8265", str(path))
        assert words in info.value.message and str(path) in info.value.message, info.value.message
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(empty))
    with pytest.raises(UsageError, match="RAY_AUTH_TOKEN_PATH"):
        connect.resolve("h:8265", None)


def test_ray_job_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in ("{not json", '["a"]', '{"X-Count": 3}'):
        monkeypatch.setenv("RAY_JOB_HEADERS", bad)
        with pytest.raises(UsageError) as info:
            connect.resolve("h:8265", None)
        assert "RAY_JOB_HEADERS" in info.value.message and bad not in info.value.message
    monkeypatch.setenv("RAY_AUTH_TOKEN", "tok-from-env")
    monkeypatch.setenv("RAY_JOB_HEADERS", '{"authorization": "Bearer tok-from-headers", "X-Team": "ml"}')
    got = connect.resolve("h:8265", None)
    assert got.headers == {"authorization": "Bearer tok-from-headers", "X-Team": "ml"}  # it wins, no second one
    assert got.token_source == "RAY_JOB_HEADERS"
    monkeypatch.setenv("RAY_JOB_HEADERS", '{"X-Team": "ml"}')
    got = connect.resolve("h:8265", None)
    assert got.headers == {"X-Team": "ml", "Authorization": "Bearer tok-from-env"}


def test_the_lasting_cluster_gives_the_address_and_its_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from raydt.clusters import state

    token = tmp_path / "auth_token"
    token.write_text("lasting-secret")
    record = {"dashboardUrl": "127.0.0.1:8265", "tokenFile": str(token), "python": "/x/python"}
    monkeypatch.setattr(state, "running", lambda: record)
    own = connect.resolve(None, None)
    assert (own.address, own.lasting) == ("http://127.0.0.1:8265", record)
    assert own.headers == {"Authorization": "Bearer lasting-secret"} and "raydt cluster up" in str(own.token_source)
    other = connect.resolve("http://10.1.2.3:8265", None)
    assert other.lasting is None and other.headers == {}  # its token is not sent elsewhere


# --- connect.probe against real local HTTP servers --------------------------------------------------------------

Route = tuple[int, bytes]
VERSION: Route = (200, b'{"ray_version": "2.60.0", "version": "4"}')
JOBS: Route = (200, b"[]")


class _Server:
    """A local HTTP server answering GETs from a table (path -> status, body) and recording what it got."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                outer.seen.append((self.path, dict(self.headers)))
                status, body = routes.get(self.path, (404, b"no such page"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Route]], _Server]]:
    started: list[_Server] = []

    def start(routes: dict[str, Route]) -> _Server:
        started.append(_Server(routes))
        return started[-1]

    yield start
    for server in started:
        server.close()


def _probe(url: str, headers: dict[str, str] | None = None, source: str | None = None) -> str:
    return connect.probe(connect.Target(url, headers or {}, source, None))


def _probe_error(url: str, headers: dict[str, str] | None = None, source: str | None = None) -> JobsError:
    with pytest.raises(JobsError) as info:
        _probe(url, headers, source)
    assert info.value.exit_code == 1
    return info.value


def test_probe_returns_the_clusters_ray_version_and_sends_the_token(serve: Any) -> None:
    server = serve({"/api/version": VERSION, "/api/jobs/": JOBS})
    assert _probe(server.url, {"Authorization": "Bearer s3cret"}, "RAY_AUTH_TOKEN") == "2.60.0"
    assert [path for path, _ in server.seen] == ["/api/version", "/api/jobs/"]
    assert all(headers.get("Authorization") == "Bearer s3cret" for _, headers in server.seen), server.seen


def test_probe_tells_a_refused_token_from_a_missing_one(serve: Any) -> None:
    for status, words in ((401, "requires a token (HTTP 401)"), (403, "refused the token (HTTP 403)")):
        server = serve({"/api/version": VERSION, "/api/jobs/": (status, b"Unauthorized")})
        err = _probe_error(server.url, {"Authorization": "Bearer s3cret"}, "RAY_AUTH_TOKEN")
        assert err.code == "JOBS_AUTH" and words in err.message and "the token from RAY_AUTH_TOKEN" in err.message
        assert "s3cret" not in err.message and "--token-file" in err.hint
    server = serve({"/api/version": (401, b"")})
    err = _probe_error(server.url)
    assert err.code == "JOBS_AUTH" and "raydt sent no token" in err.message
    assert server.seen[0][1].get("Authorization") is None


def test_probe_tells_another_service_from_a_dashboard(serve: Any) -> None:
    cases: list[tuple[dict[str, Route], str]] = [
        ({}, "GET /api/version answered HTTP 404"),
        ({"/api/version": (200, b"<html>hello</html>")}, "without a Ray version"),
        ({"/api/version": (200, b'{"version": "1"}')}, "without a Ray version"),
        ({"/api/version": (200, b"[1, 2]")}, "without a Ray version"),
        ({"/api/version": VERSION}, "GET /api/jobs/ answered HTTP 404"),
        ({"/api/version": VERSION, "/api/jobs/": (500, b"oops")}, "answered HTTP 500"),
    ]
    for routes, words in cases:
        server = serve(routes)
        err = _probe_error(server.url)
        assert err.code == "NOT_RAY_DASHBOARD" and words in err.message, (routes, err.message)
        assert server.url in err.message


def test_probe_of_a_closed_port_is_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    err = _probe_error(url)
    assert err.code == "JOBS_UNREACHABLE" and url in err.message and "ConnectionError" in err.message
    assert time.monotonic() - started < 5


def test_probe_of_a_server_that_never_answers_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connect, "PROBE_TIMEOUT_S", 0.5)
    with socket.socket() as silent:  # listens (the kernel accepts the connection) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        started = time.monotonic()
        err = _probe_error(f"http://127.0.0.1:{silent.getsockname()[1]}")
        took = time.monotonic() - started
    assert err.code == "JOBS_UNREACHABLE" and "no answer within 0.5s" in err.message, err.message
    assert 0.4 < took < 3, took


# --- commands ---------------------------------------------------------------------------------------------------


def test_read_result_takes_the_last_marker_line() -> None:
    first = {"status": "partial", "results": {"numTrials": 1}}
    last = {"status": "success", "results": {"numTrials": 2}}
    logs = f"epoch 0\n{RESULT_MARKER}{json.dumps(first)}\nmore\n{RESULT_MARKER}{json.dumps(last)}\ntrailing noise\n"
    assert commands.read_result(logs) == last
    assert commands.read_result("epoch 0\nepoch 1\n") is None
    assert commands.read_result("") is None
    assert commands.read_result(f"{RESULT_MARKER}{json.dumps(first)}\n{RESULT_MARKER}{{broken\n") is None
    assert commands.read_result(f"{RESULT_MARKER}[1, 2]\n") is None  # not a document
    assert commands.read_result(f"  {RESULT_MARKER}{json.dumps(last)}\n") is None  # only at a line's start


def test_row_shows_a_job_in_seconds_without_empty_fields() -> None:
    info = SimpleNamespace(
        submission_id="run-1-abc", job_id="02000000", status="JobStatus.RUNNING", message=None,
        entrypoint="exec python -m raydt.cli.job_entry", start_time=1_700_000_000_500, end_time=None,
        metadata={"runName": "run-1", "mode": "tune"},
    )  # fmt: skip
    assert commands.row(info) == {
        "jobId": "run-1-abc", "status": "RUNNING", "entrypoint": "exec python -m raydt.cli.job_entry",
        "startTime": 1_700_000_000.5, "runName": "run-1", "mode": "tune",
    }  # fmt: skip
    bare = SimpleNamespace(submission_id=None, job_id="03000000", status="SUCCEEDED", message="done",
                           entrypoint="python x.py", start_time=0, end_time=2000, metadata=None)  # fmt: skip
    assert commands.row(bare) == {"jobId": "03000000", "status": "SUCCEEDED", "message": "done",
                                  "entrypoint": "python x.py", "endTime": 2.0}  # fmt: skip


def test_guarded_turns_a_raydt_error_into_its_document_and_exit_code() -> None:
    def fails() -> commands.Outcome:
        raise JobsUnreachableError("the dashboard went away")

    doc, code = commands.guarded(fails)
    assert code == 1 and doc["status"] == "error" and doc["error"]["code"] == "JOBS_UNREACHABLE"
    assert commands.guarded(lambda: ({"status": "success"}, 0)) == ({"status": "success"}, 0)
    with pytest.raises(ZeroDivisionError):  # a bug is not dressed up as a result
        commands.guarded(lambda: (dict(), 1 // 0))


def _entry(spec: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != package.SPEC_ENV}
    if spec is not None:
        env[package.SPEC_ENV] = spec
    cmd = [sys.executable, "-m", "raydt.cli.job_entry"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_the_entrypoint_ends_its_log_with_a_result_read_result_reads_back() -> None:
    missing = _entry(None)
    doc = commands.read_result(missing.stdout)
    assert missing.returncode == 2 and doc is not None and doc["error"]["code"] == "SPEC_FILE", missing.stdout
    invalid = _entry(json.dumps({"mode": "train", "config": {"numWorkers": "x"}}))
    doc = commands.read_result(invalid.stdout)
    assert invalid.returncode == 2 and doc is not None and doc["error"]["code"] == "SPEC_INVALID", invalid.stdout
    assert "config.numWorkers" in doc["error"]["message"]


# --- the CLI, as real subprocesses ------------------------------------------------------------------------------


def test_submit_validates_the_spec_before_it_contacts_anything(serve: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"mode": "train", "config": {"numWorkers": -1}}))
    server = serve({"/api/version": VERSION, "/api/jobs/": JOBS})
    for address in (f"http://127.0.0.1:{free_port()}", server.url):
        res = run_cli("submit", str(bad), "--address", address, timeout=60)
        assert res.code == 2 and res.out["error"]["code"] == "SPEC_INVALID", res.out
        assert "config.numWorkers" in res.out["error"]["message"]
    assert server.seen == []  # nothing was sent


def test_jobs_usage_errors() -> None:
    cases = [
        (("jobs", "status"), "needs a job id"),
        (("jobs", "status", "X", "--follow"), "--follow does not apply to status"),
        (("jobs", "logs", "X", "--wait"), "--wait does not apply to logs"),
    ]
    for args, words in cases:
        res = run_cli(*args, timeout=60)
        assert res.code == 2 and res.out["error"]["code"] == "USAGE" and words in res.out["error"]["message"], res.out


def test_submit_to_a_closed_port_is_unreachable_without_a_traceback(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(_builtin()))
    address = f"http://127.0.0.1:{free_port()}"
    res = run_cli("submit", str(spec), "--address", address, timeout=60)  # run_cli: no traceback on stderr
    assert res.code == 1 and res.out["error"]["code"] == "JOBS_UNREACHABLE", res.out
    assert address in res.out["error"]["message"]


def test_submit_with_a_refused_token_never_prints_it(serve: Any, tmp_path: Path) -> None:
    spec, token = tmp_path / "spec.json", tmp_path / "token"
    spec.write_text(json.dumps(_builtin()))
    token.write_text("wrong-secret-123")
    server = serve({"/api/version": VERSION, "/api/jobs/": (403, b"Forbidden")})
    res = run_cli("submit", str(spec), "--address", server.url, "--token-file", str(token), timeout=60)
    assert res.code == 1 and res.out["error"]["code"] == "JOBS_AUTH", res.out
    assert str(token) in res.out["error"]["message"]
    assert "wrong-secret-123" not in res.stdout + res.stderr
    assert [h.get("Authorization") for _, h in server.seen] == ["Bearer wrong-secret-123"] * 2


def test_the_output_schema_documents_the_jobs_keys() -> None:
    proc = subprocess.run([sys.executable, "-m", "raydt", "schema", "output"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    props = json.loads(proc.stdout)["properties"]
    for key in ("jobId", "jobStatus", "submission", "jobs"):
        assert props[key]["description"], key
    assert {"SUCCEEDED", "STOPPED", "FAILED"} <= set(props["jobStatus"]["enum"])
    documented = set(props["submission"]["properties"])
    assert {"workingDir", "pyModules", "tokenSource", "clusterRayVersion"} <= documented, documented


def test_a_builtin_trainer_sends_no_folder_and_its_submission_passes_the_result_model() -> None:
    """`raydt submit` of a built-in spec (no code to send) ended INTERNAL once the job finished: workingDir was null
    (found by the e2e tier's README example)."""
    from raydt.results import finalize

    pack = package.build(_builtin("s3://bucket/runs"), package.Options(), None)
    assert "workingDir" not in pack.summary and pack.summary["files"] == 0
    doc = finalize(
        {
            "status": "success",
            "results": {"numTrials": 0, "completedTrials": 0},
            "submission": {
                **pack.summary,
                "address": "http://127.0.0.1:8265",
                "tokenSource": "none",
                "clusterRayVersion": "2.60.0",
            },
        }
    )
    assert doc["status"] == "success" and "workingDir" not in doc["submission"], doc
