"""``raydt run SPEC --detach``: the run goes on in a background process; this one relays its live view
(what ``raydt run`` shows on stderr: spec, preflight, epochs, serving) until the endpoint answers, then
returns its JSON. Imports no Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from raydt import results
from raydt.clusters import warm
from raydt.errors import InterruptedRunError, RunError
from raydt.serving import state
from raydt.spec.loader import LoadedSpec


def start(source: str, loaded: LoadedSpec, *, quiet: bool, err: TextIO) -> tuple[dict[str, Any], int]:
    """Start ``source`` (validated as ``loaded``) detached; (its result JSON, exit code) once it serves or ended.

    The background run writes its live view to ``<port>.live.log`` beside its serve record; unless
    ``quiet``, every line of it is copied to ``err`` until the result is in.
    """
    sc = loaded.spec.serve_config
    assert sc is not None  # checked by the caller
    folder = state.directory()
    out_file, live_file = folder / f"{sc.port}.out.json", folder / f"{sc.port}.live.log"
    command = [sys.executable, "-m", "raydt", "run", _spec_argument(source, loaded, folder / f"{sc.port}.spec.json")]
    with open(out_file, "w", encoding="utf-8") as out, open(live_file, "w", encoding="utf-8") as live:
        with open(os.devnull, "rb") as devnull:
            child = subprocess.Popen(
                command + (["--quiet"] if quiet else []),
                stdin=devnull,
                stdout=out,
                stderr=live,  # a file, not a pipe: the run outlives this command and keeps writing there
                start_new_session=True,  # outlives this command and its terminal
                env={**os.environ, warm.ENV: "0"},  # its own process (its pid is the serve record's), never forked
            )
    try:
        doc = _wait_for_result(child, out_file, _Tail(live_file, None if quiet else err))
    except KeyboardInterrupt:
        return _interrupted(child, live_file)
    if doc is None:
        died = RunError(
            "the detached run ended without a result",
            hint=f"See its live view in {live_file} and the log file it names.",
        )
        return results.error_result(died), died.exit_code
    if doc.get("status") != results.SUCCESS:  # not serving: the run has ended (or is ending)
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        return doc, results.exit_code(doc)
    doc.update({"detached": True, "pid": child.pid})  # the child recorded itself for `raydt serve status`
    return doc, results.exit_code(doc)


def _spec_argument(source: str, loaded: LoadedSpec, copy: Path) -> str:
    """The spec file the background run reads: the same file (so relative paths in it still resolve
    against its folder), or for stdin a copy (they resolve against the current directory, which the
    background run shares)."""
    if source != "-":
        return str(Path(source).expanduser().resolve())
    copy.write_text(json.dumps(loaded.raw), encoding="utf-8")
    return str(copy)


def _wait_for_result(child: subprocess.Popen[bytes], out_file: Path, relay: Any) -> dict[str, Any] | None:
    """Poll until the child printed its JSON (a train run trains first: wait as long as it lives)."""
    while True:
        relay()
        ended = child.poll() is not None
        try:
            doc: dict[str, Any] = json.loads(out_file.read_text(encoding="utf-8"))
        except ValueError:  # not written yet, or half written
            if ended:  # a last complete write was parsed above if there was one
                relay()
                return None
            time.sleep(0.2)
            continue
        relay()
        return doc


class _Tail:
    """Copies the complete lines the background run adds to its live view to ``err`` (None: nowhere)."""

    def __init__(self, path: Path, err: TextIO | None) -> None:
        self.path, self.err, self.seen, self.partial = path, err, 0, b""

    def __call__(self) -> None:
        if self.err is None:
            return
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.seen)
                chunk = fh.read()
        except OSError:
            return
        self.seen += len(chunk)
        complete, newline, self.partial = (self.partial + chunk).rpartition(b"\n")
        if not newline:  # no complete line yet: it waits for the rest
            return
        try:
            self.err.write(complete.decode("utf-8", errors="replace") + "\n")
            self.err.flush()
        except (OSError, ValueError):
            self.err = None  # our stderr is gone: stop relaying, keep waiting


def _interrupted(child: subprocess.Popen[bytes], live_file: Path) -> tuple[dict[str, Any], int]:
    """Ctrl-C while waiting: the background run is stopped as ``raydt run`` would be (SIGINT)."""
    try:
        os.kill(child.pid, signal.SIGINT)
        child.wait(timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        pass
    stop = InterruptedRunError(
        "interrupted by the user (Ctrl-C) before the detached run served",
        hint=f"The background run was stopped; its live view is in {live_file}. Run the same spec again.",
    )
    return results.error_result(stop), stop.exit_code
