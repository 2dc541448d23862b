"""A real ``raydt run`` of a small search in a real terminal (tmux): the live table while trials run, its final
state once they ended, and stdout's JSON untouched (redirected to a file, as ``raydt run spec > result.json``).

Run this module under the Ray lock (``flock /tmp/raydt-ray.lock pytest -m slow ...``): it starts Ray.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, assert_seed_output
from tests.tmux_pane import Pane

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]

OBJECTIVE = f"{ROOT}/tests/fixtures/tune_functions.py:objective"


@pytest.fixture
def pane_of() -> Iterator[list[Pane]]:
    started: list[Pane] = []
    yield started
    for pane in started:
        pane.close()


def test_tune_run_draws_a_live_table_and_leaves_stdout_json_intact(pane_of: list[Pane], tmp_path: Path) -> None:
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"trainerPath": OBJECTIVE},
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "grid", "values": [0.01, 0.5, 0.9]}, "steps": 6, "sleep": 0.5},
            "metric": "score",
            "mode": "min",
        },
        "runConfig": {"storagePath": str(tmp_path / "results")},
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    out = tmp_path / "result.json"
    cmd = shlex.join([sys.executable, "-m", "raydt", "run", str(tmp_path / "spec.json")])
    pane = Pane(f"cd {shlex.quote(str(ROOT))} && env -u NO_COLOR -u COLUMNS -u LINES {cmd} > {out}", 120, 40)
    pane_of.append(pane)
    # the table while trials run (2 CPUs: two of the three at a time), its column named as the trainer counts: step
    mid = pane.wait_for(r"running [12] (.|\n)*trial\s+state\s+step\s+score\n\S+\s+running\s+\d", 180, regex=True)
    assert "best score = " in mid and "trials " in mid, mid
    assert pane.exit_code(timeout_s=300) == 0, pane.history()
    final, history = pane.screen(), pane.history()

    result = json.loads(out.read_text())  # stdout holds the JSON and nothing of the view
    assert_seed_output(result)
    assert result["status"] == "success", result
    assert "running 0  pending 0  paused 0  done 3  failed 0" in final, final
    for trial in result["trials"]:  # ASHA (the default scheduler) cut the worse ones short
        assert re.search(rf"{trial['trialId']}\s+done\s+{trial['iterations']}\s", final), final
    best = result["results"]["bestMetric"]
    assert f"best score = {best:.4g}" in final, final
    assert re.search(r"trials\s+━+\s+3/3", final) and "ETA 0:00" in final, final
    assert history.count("raydt tune") == 1, history  # redrawn in place, never appended
    assert "done: success" in history and "\nPANE-EXIT=0" in final
    assert "Traceback" not in history


def test_train_run_draws_an_epoch_bar_with_metrics(pane_of: list[Pane], tmp_path: Path) -> None:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"framework": "pytorch", "epochs": 3, "metric": "val_loss", "metricMode": "min"},
        "runConfig": {"storagePath": str(tmp_path / "results")},
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    out = tmp_path / "result.json"
    cmd = shlex.join([sys.executable, "-m", "raydt", "run", str(tmp_path / "spec.json")])
    pane = Pane(f"cd {shlex.quote(str(ROOT))} && env -u NO_COLOR -u COLUMNS -u LINES {cmd} > {out}", 120, 30)
    pane_of.append(pane)
    assert pane.exit_code(timeout_s=300) == 0, pane.history()
    final, history = pane.screen(), pane.history()

    result = json.loads(out.read_text())
    assert_seed_output(result)
    assert result["status"] == "success", result
    r = result["results"]
    assert re.search(r"epoch\s+━+\s+3/3", final), final
    assert f"best val_loss = {r['bestMetric']:.4g}" in final, final
    assert f"{r['finalMetrics']['val_loss']:.4g}" in final, final  # the last epoch's metrics in the table
    assert history.count("raydt train") == 1 and "Traceback" not in history, history


def test_ctrl_c_mid_search_leaves_the_table_the_cursor_and_a_result(pane_of: list[Pane], tmp_path: Path) -> None:
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 1, "resourcesPerWorker": {"cpu": 1}},
        "trainConfig": {"trainerPath": OBJECTIVE},
        "tuneConfig": {
            "searchSpace": {"lr": {"type": "grid", "values": [0.01, 0.5]}, "steps": 30, "sleep": 1.0},
            "metric": "score",
            "mode": "min",
        },
        "runConfig": {"storagePath": str(tmp_path / "results")},
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    out = tmp_path / "result.json"
    cmd = shlex.join([sys.executable, "-m", "raydt", "run", str(tmp_path / "spec.json")])
    pane = Pane(f"cd {shlex.quote(str(ROOT))} && env -u COLUMNS -u LINES {cmd} > {out}", 120, 40)
    pane_of.append(pane)
    pane.wait_for(r"\S+\s+running\s+2\s", 180, regex=True)  # a trial reported its second step
    assert not pane.cursor_visible()
    pane.keys("C-c")
    code = pane.exit_code(timeout_s=120)
    final = pane.screen()
    assert pane.cursor_visible(), final
    result = json.loads(out.read_text())  # the interrupted run still prints its one JSON document
    assert_seed_output(result)
    assert code != 0 and result["status"] in ("partial", "error"), result
    assert pane.history().count("raydt tune") == 1 and "Traceback" not in pane.history(), pane.history()
