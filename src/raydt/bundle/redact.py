"""Secrets out of a bundle's copies (never out of the originals): what looks secret becomes ``[redacted]``.

- a key named like a secret (a part of its name, camelCase or snake_case, is ``token``, ``password``, ``secret``,
  ``credential(s)``, ``auth``, ``authorization``, ``apikey``, or it ends in ``api|access|private|... key``:
  ``HF_TOKEN``, ``MLFLOW_TRACKING_PASSWORD``, ``AWS_SECRET_ACCESS_KEY``, ``apiKey``; not a bare ``key``): its
  value, in JSON (every scalar under it) and in text (``NAME=value``, ``name: value``, ``"name": "value"``); names
  of a file, path or environment variable (``tokenFile``, ``tokenEnv``) and booleans (``auth: true``) are kept;
- ``Authorization`` / ``Bearer`` / ``Basic`` credentials; the password of a URL (``https://user:pw@host``);
- tokens recognisable by their shape (Hugging Face ``hf_...``, GitHub ``ghp_...``, AWS ``AKIA...``, Slack ``xox.-``).

``Redactor().document(text, suffix)`` returns the redacted copy; the redactor counts what it replaced.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

REDACTED = "[redacted]"
_SECRET_PARTS = frozenset(
    {"token", "password", "passwd", "secret", "credential", "credentials", "auth", "authorization", "apikey"}
)
#: ``<prefix>_key`` names a key to something (``api_key``, ``OPENAI_API_KEY``, ``secretKey``); a bare ``key`` does not
_KEY_PREFIXES = frozenset({"api", "access", "secret", "private", "signing", "encryption", "client", "master", "ssh"})
_KEPT_LAST = frozenset({"file", "path", "dir", "env", "var", "source", "required", "enabled", "mode", "type"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[_.\-\s]+")
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.\-]*://[^/\s:@\"']+:)([^@\s/\"']+)(@)")
_SCHEME = re.compile(r"(?i)\b(Bearer|Basic|Token)(\s+)([A-Za-z0-9._~+/=\-]{6,})")
_SHAPES = re.compile(
    r"\b(?:hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|AKIA[0-9A-Z]{16}|xox[abprs]-[\w-]{10,})"
)
#: ``name = value`` / ``name: value`` / ``"name": "value"`` / ``--name value`` is not matched (no separator)
_ASSIGN = re.compile(
    r"(?P<q>[\"']?)(?P<name>[A-Za-z_][\w.\-]*)(?P=q)(?P<sep>[ \t]*[:=][ \t]*)(?P<vq>[\"']?)(?P<value>[^\s\"',;}\]]+)"
)


def secret_name(name: str) -> bool:
    """Whether a key or variable named ``name`` holds a secret."""
    parts = [p for p in _SPLIT.split(_CAMEL.sub("_", name).lower()) if p]
    if not parts or parts[-1] in _KEPT_LAST:
        return False
    keyed = len(parts) > 1 and parts[-1] == "key" and parts[-2] in _KEY_PREFIXES
    return any(p in _SECRET_PARTS for p in parts) or keyed or parts[-1].endswith("apikey")


class Redactor:
    """Redacts one bundle's files: counts the values it replaced and remembers them (``secrets``), so a file that
    cannot be read by structure (the report's HTML, whose inlined scripts must stay intact) loses the same values."""

    def __init__(self) -> None:
        self.count = 0
        self.secrets: set[str] = set()

    def _hide(self, value: str) -> str:
        if len(value) >= 4 and value != REDACTED:
            self.secrets.add(value)
        self.count += 1
        return REDACTED

    def text(self, s: str) -> str:
        """``s`` with every secret value replaced."""
        s = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{self._hide(m.group(2))}{m.group(3)}", s)
        s = _SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{self._hide(m.group(3))}", s)
        s = _SHAPES.sub(lambda m: self._hide(m.group(0)), s)

        def assign(m: re.Match[str]) -> str:
            value = m.group("value")
            if not secret_name(m.group("name")) or _keep(value):
                return m.group(0)
            return f"{m.group('q')}{m.group('name')}{m.group('q')}{m.group('sep')}{m.group('vq')}{self._hide(value)}"

        return _ASSIGN.sub(assign, s)

    def literal(self, s: str) -> str:
        """``s`` (HTML) with the URL, credential and token patterns and every value already redacted elsewhere
        (as it is, and HTML-escaped) replaced; no ``name=value`` guessing: it would break inlined scripts."""
        s = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{self._hide(m.group(2))}{m.group(3)}", s)
        s = _SHAPES.sub(lambda m: self._hide(m.group(0)), s)
        for secret in sorted(self.secrets, key=len, reverse=True):
            for form in {secret, html.escape(secret)}:
                if form in s:
                    self.count += s.count(form)
                    s = s.replace(form, REDACTED)
        return s

    def json_value(self, value: Any, secret: bool = False) -> Any:
        """A JSON value with every scalar under a secret-named key replaced, and secrets in its strings."""
        if isinstance(value, dict):
            return {k: self.json_value(v, secret or secret_name(str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json_value(item, secret) for item in value]
        if (
            secret
            and isinstance(value, str | int | float)
            and not isinstance(value, bool)
            and value not in ("", REDACTED)
        ):
            return self._hide(str(value))
        return self.text(value) if isinstance(value, str) else value

    def document(self, raw: str, suffix: str) -> str:
        """A file's text redacted as its kind allows: JSON and JSON lines by structure (kept byte for byte when
        nothing in them is secret), HTML by ``literal``, anything else (YAML, logs, CSV) by ``text``."""
        before = self.count
        if suffix in (".html", ".htm"):
            return self.literal(raw)
        if suffix == ".json":
            try:
                new = self.json_value(json.loads(raw))
            except ValueError:
                return self.text(raw)
            return json.dumps(new, indent=2) + "\n" if self.count > before else raw
        if suffix == ".jsonl":
            lines = [self._json_line(line) for line in raw.splitlines()]
            return "\n".join(lines) + "\n" if self.count > before else raw
        return self.text(raw)

    def _json_line(self, line: str) -> str:
        before = self.count
        try:
            new = self.json_value(json.loads(line))
        except ValueError:
            return self.text(line)
        return json.dumps(new) if self.count > before else line


def _keep(value: str) -> bool:
    """Values that say nothing secret: booleans, null, the scheme word before a credential, a redaction."""
    return (
        not value
        or value.lower() in ("true", "false", "null", "none", "bearer", "basic", "token")
        or value.startswith(REDACTED)
    )
