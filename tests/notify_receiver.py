"""A loopback JSON webhook for runConfig.notify's tests: Apprise's ``json://127.0.0.1:PORT/hook`` posts each
message to it ({"version", "title", "message", "type"}); ``messages`` keeps them in arrival order."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.paths.append(self.path)
                receiver.messages.append(json.loads(body or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"json://127.0.0.1:{self.port}/hook"

    def titles(self) -> list[str]:
        return [str(m.get("title")) for m in self.messages]

    def of(self, word: str) -> list[dict[str, Any]]:
        """The messages whose title holds ``word`` (" finished", " failed", " new best")."""
        return [m for m in self.messages if word in str(m.get("title"))]


@contextmanager
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, name="notify-receiver", daemon=True)
    thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()
        thread.join(5)
