"""A bundle opened again: recognised by its name or its bytes, extracted into a temporary folder with tarfile's
``data`` filter (no absolute paths, no ``..``, no links out of it, no devices), the experiment folder found in it.
The paths of what ``explain`` and ``report`` read there are then written as ``BUNDLE:member`` (``relabel``)."""

from __future__ import annotations

import json
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from raydt.errors import UsageError
from raydt.experiment import BUNDLE_MANIFEST, SPEC_FILE

SUFFIXES = (".tar.gz", ".tgz", ".tar")


def is_bundle(path: str | Path) -> bool:
    """Whether ``path`` is a file that is a tar archive (a bundle, or something to be refused as one)."""
    p = Path(path).expanduser()
    if not p.is_file():
        return False
    return p.name.endswith(SUFFIXES) or tarfile.is_tarfile(p)


@contextmanager
def opened(path: str | Path) -> Iterator[tuple[Path, Path]]:
    """(the experiment folder, the extraction root) of the bundle ``path``, removed on exit; ``UsageError`` for an
    archive that cannot be read, holds an unsafe member, or holds no experiment."""
    bundle = Path(path).expanduser().resolve()
    with tempfile.TemporaryDirectory(prefix="raydt-bundle-") as tmp:
        root = Path(tmp).resolve()
        try:
            with tarfile.open(bundle, "r:*") as tar:
                unsafe = [m.name for m in tar.getmembers() if _unsafe(m.name)]
                if unsafe:
                    raise _refused(bundle, f"it holds a member outside the bundle ({unsafe[0]})")
                tar.extractall(root, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise _refused(bundle, f"it cannot be read as a .tar.gz ({type(exc).__name__}: {exc})") from None
        yield _experiment(root, bundle), root


def _unsafe(name: str) -> bool:
    p = PurePosixPath(name)
    return p.is_absolute() or ".." in p.parts


def _experiment(root: Path, bundle: Path) -> Path:
    try:
        named = json.loads((root / BUNDLE_MANIFEST).read_text(encoding="utf-8")).get("experiment")
    except (OSError, ValueError, AttributeError):
        named = None
    if isinstance(named, str) and (root / named / SPEC_FILE).is_file():
        return root / named
    found = [p.parent for p in root.glob(f"*/{SPEC_FILE}")]
    if len(found) == 1:
        return found[0]
    raise _refused(bundle, f"it holds {'no' if not found else 'more than one'} experiment folder (with {SPEC_FILE})")


def _refused(bundle: Path, why: str) -> UsageError:
    return UsageError(f"{bundle} is not a raydt bundle: {why}", hint="Make one with: raydt bundle DIR -o run.tar.gz")


def relabel(value: Any, root: Path, bundle: str | Path) -> Any:
    """``value`` (a result document) with every path inside the extraction ``root`` written ``BUNDLE:member``."""
    prefix, label = f"{root}/", f"{Path(bundle).expanduser().resolve()}:"
    if isinstance(value, dict):
        return {k: relabel(v, root, bundle) for k, v in value.items()}
    if isinstance(value, list):
        return [relabel(v, root, bundle) for v in value]
    if isinstance(value, str) and (value.startswith(prefix) or value == str(root)):
        return label + value[len(prefix) :]
    return value
