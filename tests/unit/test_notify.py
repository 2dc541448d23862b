"""runConfig.notify without Ray: the spec's rules, the URL as warnings show it, the messages' text, newBest's rate
limit on an injected clock, failures as warnings, and every event through real Apprise to a loopback JSON
receiver (and to a closed port): the live view's new bests, a finished run's and a failed run's end."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import raydt
from raydt.progress import ProgressView
from raydt.spec import load
from raydt.spec import notify_checks as checks
from raydt.spec.model import NotifySpec
from raydt.spec.run_model import shown_url
from raydt.tracking import messages, notify
from raydt.tracking.messages import Best, Message
from tests.conftest import ROOT, free_port
from tests.notify_receiver import receiver
from tests.unit.helpers import issues_by_path

pytest.importorskip("apprise")

TUNE_DOC: dict[str, Any] = {
    "status": "success",
    "mode": "tune",
    "results": {
        "bestConfig": {"lr": 0.002, "batchSize": 16},
        "bestMetric": 0.11123,
        "metric": "val_loss",
        "metricMode": "min",
        "numTrials": 8,
        "completedTrials": 8,
    },
    "checkpointPath": "/r/exp-1/trial_a/checkpoint_000003",
    "experimentPath": "/r/exp-1",
    "reportPath": "/r/exp-1/report/report.html",
    "trainingTime": 7.6,
}
FAILED_DOC: dict[str, Any] = {
    "status": "error",
    "results": {"numTrials": 0, "completedTrials": 0},
    "error": {"code": "USER_CODE_ERROR", "message": "ValueError: boom", "hint": "Fix the trainer."},
}


def spec(mode: str = "train", **run: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"mode": mode, "config": {"numWorkers": 1}, "runConfig": run}
    if mode == "train":
        base["trainConfig"] = {"framework": "pytorch", "epochs": 1}
    return base


class Sent:
    """A ``send`` that records (url, message) and answers ``reply`` (None: delivered)."""

    def __init__(self, reply: str | None = None) -> None:
        self.reply = reply
        self.calls: list[tuple[str, Message]] = []

    def __call__(self, url: str, message: Message, timeout: float) -> str | None:
        self.calls.append((url, message))
        return self.reply


# --- the spec -----------------------------------------------------------------------------------------------


def test_spec_defaults_and_accepts_every_event() -> None:
    loaded = load(spec(notify=[{"url": "json://127.0.0.1:9/h"}, {"url": "json://h.example/x", "on": ["newBest"]}]))
    targets = loaded.spec.run_config.notify
    assert targets[0].on == ["finished", "failed"] and targets[1].on == ["newBest"]
    assert load(spec()).spec.run_config.notify == []


def test_spec_refuses_unknown_events_bad_urls_and_modes_without_an_end_or_metric() -> None:
    found = issues_by_path(spec(notify=[{"url": "json://127.0.0.1:9/h", "on": ["finished", "newbest"]}]))
    assert "did you mean 'newBest'" in found["runConfig.notify.0.on.1"]
    token = "TIiajkdnlazkcOXrIdevi7FQ"
    found = issues_by_path(spec(notify=[{"url": "foo://bar/x"}, {"url": f"slack://T1/{token}"}, {"url": "nourl"}]))
    assert "scheme 'foo' is not one Apprise knows" in found["runConfig.notify[0].url"]
    assert "slack:// URL Apprise can read" in found["runConfig.notify[1].url"] and token not in str(found)
    assert "(got 'slack://***')" in found["runConfig.notify[1].url"] and "no scheme" in found["runConfig.notify[2].url"]
    plain = issues_by_path(spec(notify=[{"url": "https://example.com/hook"}]))["runConfig.notify[0].url"]
    assert "jsons://host:port/path" in plain
    serve = issues_by_path({**spec("serve", notify=[{"url": "json://127.0.0.1:9/h"}]), "serveConfig": {}})
    assert "applies to modes train, tune, predict" in serve["runConfig.notify"]
    predict = issues_by_path(spec("predict", notify=[{"url": "json://127.0.0.1:9/h", "on": ["newBest"]}]))
    assert "'newBest' applies to modes train and tune" in predict["runConfig.notify[0].on"]


def test_spec_without_apprise_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = checks.importlib.util.find_spec
    monkeypatch.setattr(checks.importlib.util, "find_spec", lambda name: None if name == "apprise" else real(name))
    found = issues_by_path(spec(notify=[{"url": "json://127.0.0.1:9/h"}]))
    assert "needs the 'apprise' package" in found["runConfig.notify"]
    assert "pip install 'ray-distributed-trainer[notify]'" in found["runConfig.notify"]
    out = raydt.run(spec(notify=[{"url": "json://127.0.0.1:9/h"}]))
    assert out["status"] == "error" and out["error"]["code"] == "SPEC_INVALID"


def test_validate_and_schema_import_neither_apprise_nor_ray(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(spec(storagePath=str(tmp_path))))
    code = (
        "import sys, raydt\n"
        f"raydt.validate({str(path)!r})\n"
        "from raydt.api import schema\n"
        "assert 'notify' in schema('input')['$defs']['RunConfig']['properties']\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('apprise', 'ray')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("json://user:secret@127.0.0.1:8080/hook?token=abc", "json://127.0.0.1:8080"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "slack://***"),
        ("mailto://me:password@gmail.com", "mailto://gmail.com"),
        ("tgram://123456789:AAHkey/chat", "tgram://***"),
        ("ntfys://ntfy.example.com/secret-topic", "ntfys://ntfy.example.com"),
        ("ntfy://secret-topic", "ntfy://***"),
        ("no url at all", "<an unreadable URL>"),
    ],
)
def test_a_url_is_shown_as_its_scheme_and_host_only(url: str, shown: str) -> None:
    assert shown_url(url) == shown == NotifySpec.model_validate({"url": url}).shown()


# --- the messages -------------------------------------------------------------------------------------------


def test_finished_message_has_status_best_config_and_paths() -> None:
    m = messages.ended(TUNE_DOC, messages.run_name(TUNE_DOC, "fallback"))
    assert (m.event, m.kind, m.title) == ("finished", "success", "raydt: exp-1 finished")
    for part in ("status: success (tune, 8/8 trials completed)", "best val_loss (min): 0.1112", '"lr": 0.002',
                 "checkpoint: /r/exp-1/trial_a/checkpoint_000003", "report: /r/exp-1/report/report.html"):  # fmt: skip
        assert part in m.body, m.body
    train = messages.ended({**TUNE_DOC, "mode": "train", "results": {"numTrials": 1, "completedTrials": 1}}, "t")
    assert train.body.startswith("status: success (train)\n")  # no trial counts for a train run
    partial = messages.ended({**TUNE_DOC, "status": "partial"}, "x")
    assert partial.title == "raydt: x finished (partial)" and partial.kind == "warning"


def test_failed_message_has_code_and_hint() -> None:
    m = messages.ended(FAILED_DOC, messages.run_name(FAILED_DOC, "my-run"), "train")
    assert (m.event, m.kind, m.title) == ("failed", "failure", "raydt: my-run failed (USER_CODE_ERROR)")
    assert m.body.startswith("status: error (train)\n")
    assert "error: USER_CODE_ERROR: ValueError: boom" in m.body and "hint: Fix the trainer." in m.body


def test_new_best_message_names_value_trial_and_config() -> None:
    best = Best("val_loss", "min", 0.25, {"val_loss": 0.25, "epoch": 3}, "t1", {"lr": 0.1}, 42.0)
    m = messages.new_best(best, "exp")
    assert m.title == "raydt: exp new best val_loss=0.25" and m.kind == "info"
    assert "(trial t1)" in m.body and "epoch=3" in m.body and '"lr": 0.1' in m.body and "elapsed: 42 s" in m.body


# --- the notifier -------------------------------------------------------------------------------------------


def test_new_best_is_sent_at_most_once_a_minute_per_url() -> None:
    now = [0.0]
    sent = Sent()
    targets = [NotifySpec.model_validate({"url": u, "on": ["newBest"]}) for u in ("json://a.x/1", "json://b.x/2")]
    n = notify.Notifier(targets, "exp", clock=lambda: now[0], send=sent)
    best = Best("loss", "min", 1.0)
    for t in (0.0, 30.0, 59.9, 60.0, 61.0, 130.0):
        now[0] = t
        n.new_best(best)
    n.end(TUNE_DOC)  # nobody asked for finished: nothing more
    assert sorted(url for url, _ in sent.calls) == ["json://a.x/1"] * 3 + ["json://b.x/2"] * 3  # at 0, 60 and 130
    assert n.throttled == {0: 3, 1: 3} and n.warnings() == []
    n.new_best(best)  # after the end: nothing
    assert len(sent.calls) == 6


def test_the_end_is_sent_once_and_a_failed_send_is_a_warning_without_secrets() -> None:
    url = "json://user:hunter2@127.0.0.1:9/hook?key=s3cret"
    n = notify.Notifier([NotifySpec.model_validate({"url": url})], "exp", send=Sent("Connection refused"))
    doc = notify.close(n, dict(FAILED_DOC))
    notify.close(n, doc)
    assert doc["warnings"] == [
        "notify: runConfig.notify[0] (json://127.0.0.1:9): the 'failed' message could not be sent: Connection "
        "refused; the run itself is unaffected"
    ]

    def boom(url: str, message: Message, timeout: float) -> str | None:
        raise OSError("no route")

    n = notify.Notifier([NotifySpec.model_validate({"url": url})], "exp", send=boom)
    assert "OSError: no route" in notify.close(n, dict(TUNE_DOC))["warnings"][0]


def test_a_send_that_hangs_is_cut_at_the_end() -> None:
    import threading

    release = threading.Event()

    def hang(url: str, message: Message, timeout: float) -> str | None:
        release.wait(10)
        return None

    n = notify.Notifier([NotifySpec.model_validate({"url": "json://h.x/1"})], "exp", send=hang)
    n.end(TUNE_DOC, wait_s=0.2)
    release.set()
    assert "the 'finished' message could not be sent: still unsent 0.2 s after the run ended" in n.warnings()[0]


def test_the_view_tells_new_bests_and_survives_a_broken_listener() -> None:
    view = ProgressView()
    seen: list[tuple[Any, ...]] = []
    view.on_best = lambda metrics, key, config: seen.append((metrics["loss"], key, config))
    view.watch("loss", "min")
    for value in (3.0, 2.0, 2.5, float("nan"), 1.0):
        view.report({"loss": value}, 1, False, key="t", config={"lr": value})
    assert [s[0] for s in seen] == [3.0, 2.0, 1.0] and seen[0][1:] == ("t", {"lr": 3.0})
    assert pickle.loads(pickle.dumps(view)).on_best is None  # Tune snapshots its callbacks
    view.on_best = lambda *a: 1 / 0
    view.report({"loss": 0.5}, 2, False)  # no exception
    assert view.best == 0.5


# --- real Apprise, a loopback receiver ----------------------------------------------------------------------


def test_every_event_reaches_a_loopback_json_receiver_and_a_closed_port_is_a_warning() -> None:
    closed = f"json://127.0.0.1:{free_port()}/hook"
    with receiver() as r:
        events = ["finished", "failed", "newBest"]
        run = spec(name="exp-1", notify=[{"url": r.url, "on": events}, {"url": closed, "on": events}])
        view = ProgressView()
        n = notify.start(load(run).spec, view)
        assert n is not None and view.on_best is not None
        view.run_name = "exp-1"
        view.watch("val_loss", "min")
        view.report({"val_loss": 0.5, "epoch": 1}, 1, False, key="t1", config={"lr": 0.1})
        view.report({"val_loss": 0.4, "epoch": 2}, 2, False, key="t1", config={"lr": 0.1})  # within the minute
        doc = notify.close(n, dict(TUNE_DOC))
        assert [m["title"] for m in r.messages] == ["raydt: exp-1 new best val_loss=0.5", "raydt: exp-1 finished"]
        assert r.messages[0]["type"] == "info" and '"lr": 0.1' in r.messages[0]["message"]
        assert "best val_loss (min): 0.1112" in r.messages[1]["message"] and r.messages[1]["type"] == "success"
        assert r.paths == ["/hook", "/hook"]
        warned = doc["warnings"]
        assert len(warned) == 2 and all("runConfig.notify[1] (json://127.0.0.1:" in w for w in warned), warned
        assert {"'newBest'", "'finished'"} == {w.split(" message")[0].split("the ")[-1] for w in warned}

        failed = notify.start(load(run).spec, ProgressView())
        notify.close(failed, dict(FAILED_DOC))
        assert r.titles()[-1] == "raydt: exp-1 failed (USER_CODE_ERROR)" and r.messages[-1]["type"] == "failure"
        assert "hint: Fix the trainer." in r.messages[-1]["message"]


def test_a_run_refused_before_ray_starts_is_told_failed(tmp_path: Path) -> None:
    """A preflight's error (here MLflow's server on a closed port) ends the run before Ray starts: `failed` is
    sent all the same, with the code and the hint, and the result carries no notification warning."""
    pytest.importorskip("mlflow")
    with receiver() as r:
        run = spec(storagePath=str(tmp_path), name="refused", notify=[{"url": r.url}])
        run["runConfig"]["tracking"] = {"mlflow": {"trackingUri": f"http://127.0.0.1:{free_port()}"}}
        out = raydt.run(run)
        assert out["status"] == "error" and out["error"]["code"] == "TRACKING_UNREACHABLE", out
        assert "warnings" not in out and "clusterStatus" not in out
        assert r.titles() == ["raydt: refused failed (TRACKING_UNREACHABLE)"]
        assert "hint: Start it" in r.messages[0]["message"]


def test_execute_tells_a_training_that_serves_before_serving_and_a_bug_as_failed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``api.execute`` without Ray (the runner and the serving stubbed): the end of the training is told before
    serving starts, once; a runner that raises a bug of ours is told ``failed`` with INTERNAL."""
    import raydt.runners
    from raydt.api import runs

    with receiver() as r:
        run = spec(storagePath=str(tmp_path), name="served", notify=[{"url": r.url}])
        at_serve: list[list[str]] = []

        def serve(loaded: Any, view: Any, out: dict[str, Any], handoff: Any) -> dict[str, Any]:
            at_serve.append(r.titles())
            return out

        monkeypatch.setattr(raydt.runners, "runner", lambda mode, handoff: lambda loaded, view: dict(TUNE_DOC))
        monkeypatch.setattr(runs, "_then_serve", serve)
        doc, code = runs.execute({**run, "serveConfig": {}})
        assert code == 0 and at_serve == [["raydt: exp-1 finished"]] and r.titles() == ["raydt: exp-1 finished"]

        def broken(loaded: Any, view: Any) -> dict[str, Any]:
            raise ValueError("a bug")

        monkeypatch.setattr(raydt.runners, "runner", lambda mode, handoff: broken)
        doc, code = runs.execute(run)
        assert code == 1 and doc["error"]["code"] == "INTERNAL"
        assert r.titles()[-1] == "raydt: served failed (INTERNAL)" and "a bug" in r.messages[-1]["message"]
