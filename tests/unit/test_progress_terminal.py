"""The live view as a person sees it: a table redrawn in place in a real terminal (tmux), the line log in a pipe.

``progress_driver.py`` makes the calls the tune and train runners make (no Ray); stdout carries one JSON line.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tmux_pane import Pane

DRIVER = Path(__file__).resolve().parent / "progress_driver.py"
STAMP = re.compile(r"^\[raydt +\d+\.\ds\] ")
COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-7]|38;[25];[0-9;]+)m")  # a foreground colour, not bold or dim

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def driver_line(kind: str, step_s: float, out: Path, env: str = "-u NO_COLOR") -> str:
    """The driver in a terminal: stderr is the pane, stdout a file (as `raydt run ... > result.json`)."""
    cmd = [sys.executable, str(DRIVER), kind, str(step_s)]
    return f"env -u FORCE_COLOR -u COLUMNS -u LINES {env} {shlex.join(cmd)} > {shlex.quote(str(out))}"


@pytest.fixture
def panes() -> Iterator[list[Pane]]:
    started: list[Pane] = []
    yield started
    for pane in started:
        pane.close()


@needs_tmux
def test_tune_table_redraws_in_place_and_keeps_its_final_state(panes: list[Pane], tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    pane = Pane(driver_line("tune", 0.15, out), width=110, height=40)
    panes.append(pane)
    mid = pane.wait_for("fake_00003", timeout_s=30)  # the second pair of trials runs
    assert "running 2" in mid and "trial" in mid and "state" in mid, mid
    assert pane.exit_code() == 0
    final = pane.screen()
    colours = pane.screen(escapes=True)
    history = pane.history()
    # counts by state, the best value and its trial, and every trial's row with its last iteration
    assert "running 0  pending 0  paused 0  done 5  failed 1" in final, final
    assert "best score = 0.03333 (trial fake_00005)" in final, final
    assert re.search(r"fake_00003\s+failed\s+5\s+0\.05\s+0\.1\b", final), final
    assert re.search(r"trials\s+━+\s+6/6", final), final
    assert "ETA 0:00" in final, final
    # redrawn in place: ~20 frames were drawn, yet the header and table head appear once in all the scrollback
    assert history.count("raydt tune") == 1, history
    assert len(re.findall(r"trial\s+state\s+iter", history)) == 1, history
    assert mid != final
    # events stay as stamped lines above the table; stdout got the JSON and nothing of the view
    assert "trial fake_00003 failed: ValueError: boom" in final and "done: success" in final
    assert json.loads(out.read_text()) == {"status": "success", "best": pytest.approx(1 / 30)}
    assert COLOUR.search(colours), "a terminal without NO_COLOR gets colours"


@needs_tmux
def test_train_bar_and_no_color(panes: list[Pane], tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    pane = Pane(driver_line("train", 0.2, out, env="NO_COLOR=1"), width=90, height=20)
    panes.append(pane)
    assert pane.exit_code() == 0
    final, colours = pane.screen(), pane.screen(escapes=True)
    assert re.search(r"epoch\s+━+\s+8/8", final), final
    assert re.search(r"loss\s+accuracy\s*\n\s*0\.125\s+0\.9375", final), final
    assert "best loss = 0.125" in final and "checkpoints 4" in final, final
    assert pane.history().count("raydt train") == 1
    assert not COLOUR.search(colours), repr(colours)  # NO_COLOR: bold and dim at most
    assert json.loads(out.read_text())["best"] == 0.125


@needs_tmux
def test_ctrl_c_leaves_the_last_frame_and_the_cursor(panes: list[Pane], tmp_path: Path) -> None:
    pane = Pane(driver_line("train", 5.0, tmp_path / "result.json"), width=90, height=20)
    panes.append(pane)
    pane.wait_for("raydt train")
    assert not pane.cursor_visible()  # hidden while the table redraws
    pane.keys("C-c")
    assert pane.exit_code() != 0
    shown = pane.screen()
    assert pane.cursor_visible(), shown
    assert "KeyboardInterrupt" in shown and shown.count("raydt train") == 1, shown
    assert shown.index("raydt train") < shown.index("KeyboardInterrupt")  # the traceback comes below the table


def test_in_a_pipe_the_view_is_todays_line_log() -> None:
    done = subprocess.run(
        [sys.executable, str(DRIVER), "tune", "0"], capture_output=True, text=True, timeout=60, check=True
    )
    lines = done.stderr.splitlines()
    assert lines and all(STAMP.match(ln) for ln in lines), done.stderr
    assert "\x1b" not in done.stderr
    texts = [STAMP.sub("", ln) for ln in lines]
    assert texts[:3] == [
        "spec fake.json: mode tune",
        "trial fake_00000 (0 done, 2 running) iter 1  score=1  loss=2  (best score=1)",
        "trial fake_00001 (0 done, 2 running) iter 1  score=0.5  loss=1  (best score=0.5)",
    ]
    assert "trial fake_00003 failed: ValueError: boom" in texts and texts[-1] == "done: success"
    assert json.loads(done.stdout)["status"] == "success"


@needs_tmux
def test_term_dumb_gets_the_line_log_even_on_a_terminal(panes: list[Pane], tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    pane = Pane(driver_line("train", 0.05, out, env="-u NO_COLOR TERM=dumb"), width=110, height=20)
    panes.append(pane)
    assert pane.exit_code() == 0
    shown = pane.history()
    assert "[raydt " in shown and "epoch 8/8  loss=0.125  accuracy=0.9375  (best loss=0.125)  [ckpt]" in shown
    assert "raydt train" not in shown and "━" not in shown
