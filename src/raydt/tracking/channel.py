"""One ``runConfig.notify`` URL: its messages sent in order on a thread of its own, and what could not be sent.

A send is cut after ``SEND_TIMEOUT_S`` (Apprise's own limit on the whole call); the run's end waits for the
queue until a deadline, and what is still unsent then is reported as such (the thread is a daemon: a service
that hangs cannot keep the process alive).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable

from raydt.tracking.messages import Message, clip
from raydt.tracking.sink import one_line

#: One message to one URL: Apprise's limit on the whole call, in seconds
SEND_TIMEOUT_S = 8.0
#: (url, message, timeout) -> None when sent, else why not (one line)
Send = Callable[[str, Message, float], str | None]


def deliver(url: str, message: Message, timeout: float) -> str | None:
    """Send ``message`` to ``url`` with Apprise: None when it was delivered, else Apprise's reason."""
    import apprise

    bundle = apprise.Apprise()
    if not bundle.add(url):
        return "Apprise cannot read the URL"
    result = bundle.notify(body=message.body, title=message.title, notify_type=message.kind, timeout=timeout)
    if result:
        return None
    said = [entry.message for entry in result.logs() if str(entry.level) in ("WARNING", "ERROR", "CRITICAL")]
    status = getattr(result.status, "name", result.status)
    return clip(str(said[-1]), 300) if said else f"Apprise reports {status}"


class Channel:
    """The messages of one URL (``label``: its place in the spec and its scheme and host, never its secrets)."""

    def __init__(
        self,
        index: int,
        url: str,
        shown: str,
        events: frozenset[str],
        send: Send,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.index, self.url, self.events = index, url, events
        self.label = f"runConfig.notify[{index}] ({shown})"
        self.sent: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.reasons: dict[str, str] = {}  # event -> the latest reason it was not sent
        self._send, self._say = send, say
        self._pending: list[Message] = []
        self._queue: queue.Queue[Message | None] = queue.Queue()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def put(self, message: Message) -> None:
        with self._cond:
            if self._closed:
                self._record(message.event, "the run had ended")
                return
            self._pending.append(message)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=f"raydt-notify-{self.index}", daemon=True)
                self._thread.start()
        self._queue.put(message)

    def wait(self, deadline: float, why: str) -> None:
        """Block until every queued message is sent (or failed), or ``deadline`` (``time.monotonic``); then close:
        what is still queued counts as not sent, for ``why``."""
        with self._cond:
            while self._pending and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            for message in self._pending:
                self._record(message.event, why)
            self._pending.clear()
            self._closed = True
        self._queue.put(None)

    def warnings(self) -> list[str]:
        with self._cond:
            return [
                f"notify: {self.label}: the '{event}' message could not be sent"
                + (f" ({n} times)" if n > 1 else "")
                + f": {self.reasons[event]}; the run itself is unaffected"
                for event, n in self.failed.items()
            ]

    def _loop(self) -> None:
        while True:
            message = self._queue.get()
            if message is None:
                return
            with self._cond:
                if self._closed:
                    continue  # counted when the channel closed
            why = self._attempt(message)
            with self._cond:
                if self._closed:
                    continue
                self._pending.remove(message)
                if why is None:
                    self.sent[message.event] += 1
                else:
                    self._record(message.event, why)
                self._cond.notify_all()
            self._tell(f"notify: '{message.event}' to {self.label} " + ("sent" if why is None else f"not sent: {why}"))

    def _attempt(self, message: Message) -> str | None:
        try:
            return self._send(self.url, message, SEND_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - a message that cannot be sent is a warning, never a failed run
            return one_line(exc)

    def _record(self, event: str, why: str) -> None:
        self.failed[event] += 1
        self.reasons[event] = why

    def _tell(self, text: str) -> None:
        if self._say is not None:
            try:
                self._say(text)
            except Exception:  # noqa: BLE001 - the live view's stream may be gone at the end of a run
                pass
