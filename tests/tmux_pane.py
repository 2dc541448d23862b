"""A real terminal for tests: a command in a detached tmux pane of a fixed size, read back with capture-pane.

Each pane runs on its own tmux server (``-L`` with a unique socket name), so a test never touches
another tmux; ``close`` kills that server and, should it linger, the pane's process by its pid.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
import uuid
from pathlib import Path

EXIT_MARK = "PANE-EXIT="


class Pane:
    """``command`` (a shell line) running in a ``width`` x ``height`` terminal; the pane stays after it ends."""

    def __init__(self, command: str, width: int = 110, height: int = 40) -> None:
        self.socket = f"raydt-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # the pane keeps showing the final screen: the shell waits after the command (killed in close); it
        # traps Ctrl-C (a handler, not an ignore: the command still gets the default SIGINT) to outlive ``keys``
        line = f"trap : INT; {command}; echo {EXIT_MARK}$?; exec sleep 600"
        # -f /dev/null: no user config; the pane's environment is the one `command` sets, TERM is tmux's own
        self._tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), line)
        pid, self.socket_path = self._tmux("display-message", "-p", "-t", "t", "#{pane_pid} #{socket_path}").split()
        self.pid = int(pid)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20)
        assert done.returncode == 0, f"tmux {shlex.join(args)}: {done.stderr}"
        return done.stdout

    def screen(self, escapes: bool = False) -> str:
        """What the terminal shows now (with ``escapes``: its colours and attributes as SGR sequences)."""
        return self._tmux("capture-pane", "-p", "-t", "t", *(["-e"] if escapes else []))

    def cursor_visible(self) -> bool:
        """Whether the terminal shows its cursor (rich's Live hides it while it redraws)."""
        return self._tmux("display-message", "-p", "-t", "t", "#{cursor_flag}").strip() == "1"

    def keys(self, *keys: str) -> None:
        """Type ``keys`` into the pane (tmux key names: ``C-c`` is Ctrl-C)."""
        self._tmux("send-keys", "-t", "t", *keys)

    def history(self) -> str:
        """Everything the pane ever showed, scrolled-off lines included."""
        return self._tmux("capture-pane", "-p", "-t", "t", "-S", "-", "-E", "-")

    def wait_for(self, text: str, timeout_s: float = 30.0, *, regex: bool = False) -> str:
        """The screen once it shows ``text`` (with ``regex``: once the pattern ``text`` matches it)."""
        deadline = time.monotonic() + timeout_s
        while True:
            shown = self.screen()
            if re.search(text, shown) if regex else text in shown:
                return shown
            assert EXIT_MARK not in shown, f"the command ended before {text!r} appeared; the screen:\n{shown}"
            assert time.monotonic() < deadline, f"{text!r} never appeared; the screen:\n{shown}"
            time.sleep(0.1)

    def exit_code(self, timeout_s: float = 60.0) -> int:
        shown = self.wait_for(EXIT_MARK, timeout_s)
        return int(shown.split(EXIT_MARK, 1)[1].split()[0])

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20)
        try:
            os.kill(self.pid, signal.SIGKILL)  # gone with the server already, unless it ignored SIGHUP
        except ProcessLookupError:
            pass
        Path(self.socket_path).unlink(missing_ok=True)  # tmux leaves its socket file behind
