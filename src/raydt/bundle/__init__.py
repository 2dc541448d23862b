"""``raydt bundle DIR``: an experiment packed for someone else, and opened again on a machine that never saw the
cluster (``raydt explain run.tar.gz``, ``raydt report run.tar.gz``). Imports no Ray.

    pack.py     the .tar.gz: what goes in, what is left out (checkpoints unless asked), redacted copies
    redact.py   secrets (tokens, passwords, credentials, URL passwords) replaced by ``[redacted]``
    unpack.py   a bundle recognised and extracted safely (tarfile's ``data`` filter) into a temporary folder
"""

from __future__ import annotations

from raydt.bundle.pack import Packed, pack
from raydt.bundle.unpack import is_bundle, opened, relabel

__all__ = ["Packed", "is_bundle", "opened", "pack", "relabel"]
