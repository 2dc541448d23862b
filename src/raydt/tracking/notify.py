"""``runConfig.notify``: messages through Apprise (Slack, Teams, Discord, e-mail, ntfy, a JSON webhook, ...).

Every run whose spec loaded ends with one message to each URL that asked for its event: ``finished`` (status
success or partial) or ``failed`` (status error: also a run refused by a preflight, or interrupted). ``newBest``
comes from the live view (``ProgressView.on_best``) on the driver, never from a Ray worker, at most once a minute
per URL (the first at once; a better value inside the minute is not sent later). Each URL has a thread of its
own: a slow service delays neither the run nor the other URLs, and the end of a run waits for its messages
``END_WAIT_S`` at most. A message that cannot be sent is a warning in the result (the URL shown as its scheme
and host only), never a failed run.

    start(spec, view)     a Notifier (None without runConfig.notify); listens for the view's new bests
    ended(notifier, doc)  the end message of a result document, once (a train run that then serves: before serving)
    close(notifier, doc)  ``ended`` if not yet, then the warnings added to ``doc``

Apprise is imported by the threads that send, never by ``raydt validate`` or ``raydt schema``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from raydt.tracking.channel import Channel, Send, deliver
from raydt.tracking.messages import FAILED, FINISHED, NEW_BEST, Best, Message, run_name
from raydt.tracking.messages import ended as ended_message
from raydt.tracking.messages import new_best as best_message

if TYPE_CHECKING:
    from raydt.progress import ProgressView
    from raydt.spec.model import NotifySpec, Spec

__all__ = ["BEST_EVERY_S", "END_WAIT_S", "FAILED", "FINISHED", "NEW_BEST", "Notifier", "close", "ended", "start"]

#: newBest: at most one message per URL in this many seconds
BEST_EVERY_S = 60.0
#: The end of a run waits this long at most for its messages (each send is cut at ``channel.SEND_TIMEOUT_S``)
END_WAIT_S = 15.0


class Notifier:
    """The run's URLs, one ``Channel`` each; ``clock`` and ``send`` are injected by tests."""

    def __init__(
        self,
        targets: list[NotifySpec],
        name: str,
        *,
        mode: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        send: Send = deliver,
        say: Callable[[str], None] | None = None,
        named: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.name = name  # the experiment's name until ``named()`` (the live view's run_name) knows it
        self.mode, self.named = mode, named
        self.clock = clock
        self.channels = [Channel(i, t.url, t.shown(), frozenset(t.on), send, say) for i, t in enumerate(targets)]
        self.throttled: Counter[int] = Counter()  # newBest messages the rate limit held back, per URL
        self._last_best: dict[int, float] = {}
        self._lock = threading.Lock()
        self.done = False  # the end message was sent (or tried): nothing more is sent
        self.reported = False  # the warnings are in the result

    def wants(self, event: str) -> bool:
        return any(event in c.events for c in self.channels)

    def run_name(self) -> str:
        return self.named() or self.name

    def new_best(self, best: Best) -> None:
        """A better value of the metric: a message to each URL with ``newBest`` whose last one is a minute old."""
        now = self.clock()
        with self._lock:
            if self.done:
                return
            due = []
            for c in self.channels:
                if NEW_BEST not in c.events:
                    continue
                last = self._last_best.get(c.index)
                if last is not None and now - last < BEST_EVERY_S:
                    self.throttled[c.index] += 1
                    continue
                self._last_best[c.index] = now
                due.append(c)
        if due:
            message = best_message(best, self.run_name())
            for c in due:
                c.put(message)

    def end(self, doc: dict[str, Any], wait_s: float = END_WAIT_S) -> None:
        """Send the end message of ``doc`` (once), then wait for every URL's queue, ``wait_s`` at most in all."""
        with self._lock:
            if self.done:
                return
            self.done = True
        message: Message = ended_message(doc, run_name(doc, self.run_name()), self.mode)
        for c in self.channels:
            if message.event in c.events:
                c.put(message)
        deadline = time.monotonic() + wait_s
        try:
            for c in self.channels:
                c.wait(deadline, f"still unsent {wait_s:g} s after the run ended (the service did not answer)")
        except KeyboardInterrupt:  # Ctrl-C while the end waits: stop waiting, the result comes first
            for c in self.channels:
                c.wait(0.0, "Ctrl-C before it was sent")

    def warnings(self) -> list[str]:
        return [w for c in self.channels for w in c.warnings()]


def start(spec: Spec, view: ProgressView) -> Notifier | None:
    """The run's Notifier (None without ``runConfig.notify``); with ``newBest``, the view's best listener."""
    targets = list(spec.run_config.notify)
    if not targets:
        return None
    fallback = spec.run_config.name or f"raydt {spec.mode} run"
    notifier = Notifier(targets, fallback, mode=spec.mode, say=view.event, named=lambda: view.run_name)
    if notifier.wants(NEW_BEST):

        def tell(metrics: dict[str, Any], key: str | None, config: dict[str, Any] | None) -> None:
            if view.metric is None or view.best is None:
                return
            best = Best(
                view.metric,
                view.mode,
                view.best,
                dict(metrics),
                key,
                dict(config) if config else None,
                time.monotonic() - view.start,
            )
            notifier.new_best(best)

        view.on_best = tell
    return notifier


def ended(notifier: Notifier | None, doc: dict[str, Any]) -> None:
    """The end message of ``doc`` (nothing without a notifier, or when it was sent already)."""
    if notifier is not None:
        notifier.end(doc)


def close(notifier: Notifier | None, doc: dict[str, Any]) -> dict[str, Any]:
    """``ended`` if not yet, then add what could not be sent to ``doc['warnings']``; returns ``doc``."""
    if notifier is None:
        return doc
    notifier.end(doc)
    found = [] if notifier.reported else notifier.warnings()
    notifier.reported = True
    if found:
        doc["warnings"] = [*(doc.get("warnings") or []), *found]
    return doc
