"""The live view: iterations named as the trainer counts them, fast trials throttled per trial, and the table
that replaces the lines on a terminal."""

from __future__ import annotations

import fcntl
import io
import os
import pickle
import re
import select
import struct
import termios
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

import pytest
from rich.console import Console

from raydt.progress import ProgressView, is_terminal
from raydt.progress.table import Board, Row, render


def lines(stream: io.StringIO) -> list[str]:
    return [ln for ln in stream.getvalue().splitlines() if ln]


def test_fast_trials_get_one_line_per_trial_per_interval_but_every_new_best() -> None:
    out = io.StringIO()
    view = ProgressView(out)
    view.watch("score", "min", unit="iter", throttle_s=60)
    view.report({"score": 1.0}, 1, False, key="a")  # first line of a trial: shown
    for i in range(2, 1000):  # worse values, as fast as they come: held back
        view.report({"score": 2.0}, i, False, key="a")
    view.report({"score": 5.0}, 1, False, key="b")  # another trial's first line: shown
    view.report({"score": 0.5}, 1000, False, key="a")  # a new best: always shown
    shown = lines(out)
    assert len(shown) == 3, shown
    assert view.held_back == 998
    assert "iter 1000" in shown[-1] and "(best score=0.5)" in shown[-1]


def test_without_throttle_every_report_is_a_line() -> None:
    out = io.StringIO()
    view = ProgressView(out)
    view.watch("loss", "min", total_epochs=3)
    for epoch in (1, 2, 3):
        view.report({"loss": 1.0 / epoch, "epoch": epoch}, epoch, True)
    assert [ln.split("] ", 1)[1].split("  ")[0] for ln in lines(out)] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]


def test_iterations_are_named_as_the_trainer_counts_them() -> None:
    out = io.StringIO()
    view = ProgressView(out)
    view.watch("val_logloss", "min", unit="round")
    view.report({"val_logloss": 0.3}, 7, False)  # no counter in the metrics: the framework's unit
    view.report({"val_logloss": 0.2, "step": 40}, 8, False)  # the trainer's own counter wins
    first, second = lines(out)
    assert "round 7" in first and "epoch" not in first
    assert "step 40" in second and "step=" not in second


# --- the terminal table (raydt.progress.table): chosen only for a real terminal ---


def read_all(fd: int) -> str:
    """What was written to a pty so far."""
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunks.append(os.read(fd, 65536))
        except OSError:
            break
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def pty_stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TextIO, int]]:
    """A real terminal's stream (the slave end of a pty) and the fd that reads what it showed."""
    monkeypatch.setenv("TERM", "xterm-256color")
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))  # 100 x 30, as a window would say
    stream = os.fdopen(slave, "w", encoding="utf-8")
    yield stream, master
    stream.close()
    os.close(master)


def test_off_a_terminal_open_keeps_the_line_log() -> None:
    out = io.StringIO()
    view = ProgressView.open(out)
    assert view.table is None
    view.watch("loss", "min", 2)
    view.report({"loss": 0.5, "epoch": 1}, 1, False)
    view.finish()
    assert lines(out)[0].endswith("] epoch 1/2  loss=0.5  (best loss=0.5)")


def test_term_dumb_or_a_pipe_is_no_terminal(pty_stream: tuple[TextIO, int], monkeypatch: pytest.MonkeyPatch) -> None:
    stream, _ = pty_stream
    assert is_terminal(stream)
    monkeypatch.setenv("TERM", "dumb")
    assert not is_terminal(stream) and ProgressView.open(stream).table is None
    read, write = os.pipe()
    with os.fdopen(write, "w") as pipe:
        os.close(read)
        assert not is_terminal(pipe)


def test_on_a_terminal_the_table_draws_and_finish_gives_the_cursor_back(pty_stream: tuple[TextIO, int]) -> None:
    stream, master = pty_stream
    view = ProgressView.open(stream)
    assert view.table is not None
    view.event("spec x.json: mode train")
    view.watch("loss", "min", 4)
    view.report({"loss": 0.25, "epoch": 2}, 2, True)
    copy = pickle.loads(pickle.dumps(view))  # Tune snapshots its callbacks: a copy is silent and holds no table
    assert copy.table is None and copy.stream is None
    view.finish()
    view.finish()  # idempotent
    view.event("after the table")  # still shown, as a line below the last frame
    raw = read_all(master)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", raw)  # colours and attributes off, cursor controls kept
    assert "spec x.json: mode train" in shown and "raydt train" in shown and "2/4" in shown
    assert "\x1b[?25l" in shown and shown.rindex("\x1b[?25h") > shown.rindex("\x1b[?25l")  # cursor hidden, back
    assert shown.rstrip().endswith("after the table")


def test_a_terminal_that_went_away_ends_the_table_not_the_run(pty_stream: tuple[TextIO, int]) -> None:
    stream, _ = pty_stream
    view = ProgressView.open(stream)
    view.watch("loss", "min")
    stream.close()
    view.event("nobody sees this")
    view.report({"loss": 1.0}, 1, False)
    view.finish()
    assert view.table is not None and view.table._live is None


@dataclass
class Trial:
    trial_id: str
    status: str


def text_of(board: Board, now: float, height: int = 40) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(render(board, now, height))
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_search_table_counts_states_shows_best_and_eta() -> None:
    board = Board(start=0.0, metric="score", unit="iter", total_trials=6, watched_at=0.0)
    board.trials = [Trial("t1", "TERMINATED"), Trial("t2", "ERROR"), Trial("t3", "RUNNING"), Trial("t4", "PAUSED")]
    board.rows = {k: Row(3, {"score": 0.5, "loss": 1.5}, at) for k, at in (("t1", 1.0), ("t3", 2.0))}
    board.best, board.best_key = 0.5, "t1"
    shown = text_of(board, now=30.0)
    assert "running 1  pending 2  paused 1  done 1  failed 1" in shown  # 2 not yet created count as pending
    assert "best score = 0.5 (trial t1)" in shown and "elapsed 0:30" in shown
    assert "ETA 1:00" in shown  # 2 of 6 ended in 30 s: 4 more take 60 s
    assert [ln.split()[0] for ln in shown.splitlines() if re.match(r"t\d ", ln)][:2] == ["t3", "t1"]  # running first
    board.budget_s = 40.0
    assert "ETA 0:10" in text_of(board, now=30.0)  # the time budget ends sooner


def test_search_table_keeps_to_the_terminal_height() -> None:
    board = Board(start=0.0, metric="score", total_trials=50)
    board.trials = [Trial(f"t{i:02d}", "RUNNING") for i in range(50)]
    shown = text_of(board, now=1.0, height=20)
    assert "... 42 more" in shown and len(shown.splitlines()) < 20


def test_train_table_has_an_epoch_bar_and_an_eta() -> None:
    board = Board(start=0.0, metric="loss", total_epochs=10, watched_at=2.0)
    assert "waiting for the first report" in text_of(board, now=1.0)
    board.rows[None] = Row(4, {"loss": 0.25, "accuracy": 0.75}, 10.0)
    board.best, board.checkpoints = 0.25, 2
    shown = text_of(board, now=22.0)
    assert "4/10" in shown and "ETA 0:30" in shown  # 4 epochs in 20 s: 6 more take 30 s
    assert "best loss = 0.25" in shown and "checkpoints 2" in shown and "0.75" in shown
