"""Ray's output away from the user's terminal: everything written to fds 1 and 2 (Ray, its child processes,
libraries) goes to the run's log file, while the live view and the JSON result keep the real streams."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


@contextmanager
def quarantine(log_file: Path) -> Iterator[tuple[TextIO, TextIO]]:
    """Send fds 1 and 2 to ``log_file``; yields streams on the real stdout and stderr (result, live view)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    log_fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    out = os.fdopen(os.dup(saved_out), "w", encoding="utf-8")
    err = os.fdopen(os.dup(saved_err), "w", encoding="utf-8")
    try:
        yield out, err
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        out.flush()
        err.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
        out.close()
        err.close()
