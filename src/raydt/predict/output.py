"""Nothing half-written at the output path: Ray Data's writer streams into a staging folder beside it, which
takes the output's place only when every row is written (an interrupted or failed run removes it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from raydt.paths import is_remote

WRITERS = {"parquet": "write_parquet", "csv": "write_csv", "json": "write_json"}


def staging_for(output: str) -> str:
    """The staging folder of a local output path (a remote one is written in place: object stores have no
    atomic rename, and Ray Data writes each file whole)."""
    if is_remote(output):
        return output
    path = Path(output)
    return str(path.parent / f".{path.name}.raydt-staging-{os.getpid()}")


def write(ds: Any, output: str, fmt: str) -> str:
    """Write ``ds`` in ``fmt`` to the staging folder of ``output``; the folder written."""
    staging = staging_for(output)
    if not is_remote(output):
        shutil.rmtree(staging, ignore_errors=True)
        Path(staging).parent.mkdir(parents=True, exist_ok=True)
    getattr(ds, WRITERS[fmt])(staging)
    return staging


def publish(staging: str, output: str, overwrite: bool) -> list[str]:
    """Move the staging folder into place; with ``overwrite`` the old output stays until the new one replaces it.
    The files written, relative to ``output``."""
    if staging != output:
        target = Path(output)
        old = target.parent / f".{target.name}.raydt-old-{os.getpid()}"
        if target.exists() and overwrite:
            os.replace(target, old)
        os.replace(staging, target)
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        elif old.exists():
            old.unlink()
    if is_remote(output):
        return []
    root = Path(output)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def discard(staging: str, output: str) -> None:
    """Remove what a failed or interrupted run wrote (never the output itself)."""
    if staging != output:
        shutil.rmtree(staging, ignore_errors=True)
