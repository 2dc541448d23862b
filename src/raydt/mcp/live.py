"""Live progress of a background run, read from its live view (the ``[raydt 12.3s] ...`` lines that
``raydt run`` writes to stderr, see ``raydt.progress``): what an agent polling ``get_run`` sees.

Tolerant by design: a line it does not recognise only moves ``lastLine``; a field it cannot find is absent.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

#: the tail of the log that is read (a throttled live view stays far below this)
MAX_BYTES = 2_000_000

_LINE = re.compile(r"^\[raydt\s+([\d.]+)s\] (.*)$")
_TRIAL = re.compile(r"^trial (\S+) \((\d+) done, (\d+) running\) (.*)$")
_FINISHED = re.compile(r"^trial (\S+) finished after (\d+)")
_FAILED = re.compile(r"^trial (\S+) failed: ")
_ITERATION = re.compile(r"^(\w+) (\d+)(?:/(\d+))?(?:\s+(.*))?$")
_BEST = re.compile(r"\(best (\S+?)=(\S+)\)")
_PAIR = re.compile(r"(?:^|\s)([A-Za-z_][\w./-]*)=(\S+)")


def read(log: Path) -> dict[str, Any]:
    """The progress in ``log`` so far (an empty dict before the first line)."""
    try:
        with log.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - MAX_BYTES))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return {}
    return parse(text.splitlines())


def tail(log: Path, offset: int) -> tuple[list[str], int]:
    """The live view's lines (their text) written to ``log`` after byte ``offset``, and the offset after the last
    whole line: what a waiting client has not been told yet. At most the last ``MAX_BYTES`` are read."""
    try:
        with log.open("rb") as handle:
            size = handle.seek(0, 2)
            start = max(offset, size - MAX_BYTES)
            handle.seek(start)
            data = handle.read(size - start)
    except OSError:
        return [], offset
    whole = data.rfind(b"\n") + 1
    texts = [
        m.group(2)
        for raw in data[:whole].decode("utf-8", errors="replace").splitlines()
        if (m := _LINE.match(raw.rstrip()))
    ]
    return texts, start + whole


def parse(lines: list[str]) -> dict[str, Any]:
    """Fold the live view's lines into one progress object (see ``RunProgress`` for the keys)."""
    out: dict[str, Any] = {}
    finished: set[str] = set()
    failed: set[str] = set()
    done = running = 0
    for raw in lines:
        match = _LINE.match(raw.rstrip())
        if not match:
            continue
        out["elapsedS"] = float(match.group(1))
        text = match.group(2)
        out["lastLine"] = text
        if m := _FINISHED.match(text):
            finished.add(m.group(1))
            running = max(0, running - 1)
        elif m := _FAILED.match(text):
            failed.add(m.group(1))
            running = max(0, running - 1)
        elif m := _TRIAL.match(text):
            out["lastTrial"] = m.group(1)
            done, running = int(m.group(2)), int(m.group(3))
            _report(m.group(4), out)
        elif _ITERATION.match(text) and "=" in text:
            _report(text, out)
    if finished or failed or done or running or "lastTrial" in out:
        out["trialsDone"] = max(done, len(finished | failed))
        out["trialsRunning"] = running
        out["trialsFailed"] = len(failed)
    return out


def _report(body: str, out: dict[str, Any]) -> None:
    """One report line: ``epoch 3/4  val_loss=0.5  acc=0.9  (best val_loss=0.4)  [ckpt]``."""
    best = _BEST.search(body)
    if best:
        out["best"] = {"metric": best.group(1), "value": _number(best.group(2))}
        body = body[: best.start()]
    m = _ITERATION.match(body)
    if m and "=" not in m.group(1):
        iteration: dict[str, Any] = {"unit": m.group(1), "value": int(m.group(2))}
        if m.group(3):
            iteration["of"] = int(m.group(3))
        out["iteration"] = iteration
    metrics = {k: _number(v) for k, v in _PAIR.findall(body)}
    if metrics:
        out["lastMetrics"] = metrics


def _number(text: str) -> Any:
    """A value as the view printed it: an int, a float, or the text itself (``nan``, a string)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if value == value and value not in (float("inf"), float("-inf")) else text
