"""One background thread that makes every MLflow call of a run, in order.

Training never waits on the tracking server, and a server that fails mid-run never fails the training: the
first error stops the logging, later calls are counted instead of made, and ``warnings()`` says what was not
logged. (A server that comes back is not retried: a run's history with holes is worse than one that stops.)
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable

#: How long closing waits for calls still queued (artifacts of a big checkpoint take a while to upload).
CLOSE_TIMEOUT_S = 300.0
SYNC = "sync"  # a marker call (``wait``), never counted as lost


class Sink:
    """FIFO of MLflow calls, each labelled with what it logs ("metric report", "the checkpoint artifact")."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.failed: str | None = None  # the first error, as one line
        self.dropped: Counter[str] = Counter()
        self._queue: queue.Queue[tuple[str, Callable[[], None]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="raydt-mlflow", daemon=True)
        self._thread.start()
        self._closed = False

    def put(self, what: str, call: Callable[[], None]) -> None:
        if self._closed:
            self.dropped[what] += 1
        else:
            self._queue.put((what, call))

    def fail(self, what: str, error: BaseException) -> None:
        """Record a failure seen outside the thread (e.g. creating the run): nothing more is logged."""
        if self.failed is None:
            self.failed = one_line(error)
        self.dropped[what] += 1

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            what, call = item
            if self.failed is not None and what != SYNC:
                self.dropped[what] += 1
                continue
            try:
                call()
            except Exception as exc:  # noqa: BLE001 - any failure of the tracker must leave the training alone
                self.fail(what, exc)

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Make the calls still queued (up to ``timeout`` seconds), then stop; what is left counts as dropped."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.failed = self.failed or f"the tracking server did not answer within {timeout:g}s"
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None and item[0] != SYNC:
                    self.dropped[item[0]] += 1

    def wait(self, timeout: float = 30.0) -> None:
        """Block until every call queued so far is made (tests and the end of a run)."""
        done = threading.Event()
        if self._closed:
            return
        self._queue.put((SYNC, done.set))
        deadline = time.monotonic() + timeout
        while not done.is_set() and time.monotonic() < deadline:
            done.wait(0.05)

    def warnings(self) -> list[str]:
        if self.failed is None:
            return []
        lost = ", ".join(f"{what} (x{n})" if n > 1 else what for what, n in self.dropped.items())
        return [
            f"MLflow ({self.where}): logging stopped after an error ({self.failed}); not logged: {lost or 'nothing'}. "
            "The training itself is unaffected."
        ]


def one_line(error: BaseException) -> str:
    """The error in one short line: for a request that failed on the network, the system's own reason at the
    root of its chain (``ConnectionRefusedError: [Errno 111] Connection refused``), not MLflow's and urllib3's
    wrappers around it (their text repeats the URL and the pool's internals, and is cut before the reason)."""
    shown = _network_reason(error) or error
    lines = [ln.strip() for ln in str(shown).splitlines() if ln.strip()]
    return f"{type(shown).__name__}: {lines[0] if lines else ''}"[:300]


def _network_reason(error: BaseException) -> BaseException | None:
    """The innermost ``OSError`` of the chain MLflow raised from (refused, timed out, unknown host), else None."""
    found: BaseException | None = None
    seen: BaseException | None = error
    chain: list[BaseException] = []
    while seen is not None and seen not in chain and len(chain) < 20:
        chain.append(seen)
        if isinstance(seen, OSError) and seen is not error:
            found = seen
        seen = seen.__cause__ or seen.__context__
    return found
