"""'Did you mean' hints: the closest valid name, and the list of valid ones."""

from __future__ import annotations

import difflib
import re


def close_match(name: str, valid: list[str] | tuple[str, ...]) -> str | None:
    """The valid name ``name`` most likely misspells, if any."""
    match = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return match[0] if match else None


def closest(name: str, valid: list[str] | tuple[str, ...]) -> str:
    """A 'did you mean' hint listing the valid names."""
    match = close_match(name, valid)
    listed = ", ".join(valid)
    return f"did you mean '{match}'? Valid: {listed}." if match else f"Valid: {listed}."


def dns_label(name: str, limit: int = 63, first: str = "a-z") -> str:
    """The valid Kubernetes name closest to ``name``: lowercase, every run of other characters replaced by '-', at
    most ``limit`` characters, starting with one of ``first`` (a DNS-1035 label: a letter) and ending with a letter
    or digit; '' when nothing is left."""
    fixed = re.sub("[^a-z0-9-]+", "-", name.lower())
    fixed = re.sub(f"^[^{first}]+", "", fixed)[:limit]
    return fixed.rstrip("-")
