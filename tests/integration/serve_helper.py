"""`raydt run` of a serve spec as a real process (foreground), for the serve tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, free_port


def call(url: str, body: Any = None, raw: bytes | None = None, token: str | None = None) -> tuple[int, Any]:
    """One HTTP request (JSON ``body``, or ``raw`` bytes; GET without either): (status, the JSON answer)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class Server:
    """`raydt run` of a serve spec as a real process; ``out`` is the JSON it prints once serving."""

    def __init__(
        self, tmp: Path, serve_config: dict[str, Any], env: dict[str, str] | None = None, **spec_keys: Any
    ) -> None:
        self.port = free_port()
        spec = {
            "mode": "serve",
            "config": {},
            "runConfig": {"storagePath": str(tmp)},
            **spec_keys,
            "serveConfig": {"port": self.port, **serve_config},
        }
        (tmp / "serve.json").write_text(json.dumps(spec))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "raydt", "run", str(tmp / "serve.json")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )
        self.out = self._first_json(timeout=300)

    def _first_json(self, timeout: float) -> dict[str, Any]:
        box: dict[str, Any] = {}

        def read() -> None:
            text = ""
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                text += line
                try:
                    box["out"] = json.loads(text)
                    return
                except json.JSONDecodeError:
                    continue

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if "out" not in box:
            self.stop()
            raise AssertionError(f"no JSON from the serve run; stderr: {self.proc.stderr.read()[-3000:]}")
        return dict(box["out"])

    def call(self, path: str, body: Any = None, raw: bytes | None = None, token: str | None = None) -> tuple[int, Any]:
        return call(f"{self.out['endpoint']}{path}", body, raw, token)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        return int(self.proc.returncode)
