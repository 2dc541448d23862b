"""The user's code in the ConfigMap, sent as ``raydt submit`` sends it (``jobs.package``): ``--working-dir``, else
the deepest folder holding every code file the spec names, without ``package.DEFAULT_EXCLUDES`` and ``--exclude``
patterns. Each file gets a safe ConfigMap key (``data``; ``binaryData`` for bytes that are not UTF-8) and the
volume's ``items`` restore it at ``/raydt/code/<its path in the folder>`` on every pod, so a trainer's sibling
modules import on the workers too; the spec's paths into the folder become ``code/<path>`` (relative: they resolve
against the spec's folder, ``/raydt``, in the pod and wherever the files are extracted).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raydt import paths
from raydt.errors import OptionError, SpecIssue
from raydt.jobs import package

CODE_DIR = "code"
#: Kubernetes refuses a ConfigMap over 1 MiB; leave room for its metadata.
MAX_BYTES = 1_000_000
TOO_LARGE_HINT = (
    "Leave data and outputs out (--exclude PATTERN), read data from storage every pod reaches (s3://, gs://), "
    "point --working-dir at the folder of the code alone, or install the code in the image (--image) and name it "
    "as a module ('package.module:function')."
)


@dataclass
class Shipped:
    """The folder's files as the ConfigMap holds them."""

    data: dict[str, str] = field(default_factory=dict)  # key -> text
    binary: dict[str, str] = field(default_factory=dict)  # key -> base64 (binaryData)
    paths: dict[str, str] = field(default_factory=dict)  # key -> its path under /raydt (the volume's items)
    size: int = 0  # bytes the ConfigMap holds for them (keys and values, base64 as written)


def ship(spec: dict[str, Any], given: str | None, excludes: tuple[str, ...], issues: list[SpecIssue]) -> Shipped:
    """The code folder of an absolute spec (``paths.absolute_spec``), whose paths into it are made relative (in
    place); problems are added to ``issues``."""
    code = paths.code_files(spec)
    try:
        work = package.working_dir(given, code)
    except OptionError as err:
        issues.extend(err.issues)
        return Shipped()
    outside = sorted(set(package.relocate(spec, work, f"{CODE_DIR}/")) & {str(f) for f in code})
    if outside:
        rule = f"must hold every code file the spec names ({', '.join(outside)} lie outside it)"
        issues.append(SpecIssue("--working-dir", rule, given, "Pass a folder above them all, or leave it out."))
    if work is None:
        return Shipped()
    shipped = _files(work, excludes, issues)
    if shipped.size <= MAX_BYTES:  # every code file the spec names travels (an --exclude may hit one)
        left_out = sorted({f"{CODE_DIR}/{f.relative_to(work).as_posix()}" for f in code} - set(shipped.paths.values()))
        if left_out:
            rule = f"leaves out {', '.join(left_out)}: code the spec names"
            hint = f"Exclude other files, not the code (always left out: {', '.join(package.DEFAULT_EXCLUDES)})."
            issues.append(SpecIssue("--exclude", rule, list(excludes) or None, hint))
    return shipped


def _files(work: Path, excludes: tuple[str, ...], issues: list[SpecIssue]) -> Shipped:
    shipped = Shipped()
    sizes: dict[str, int] = {}
    for n, (path, _) in enumerate(package.walk(work, (*package.DEFAULT_EXCLUDES, *excludes))):
        rel = path.relative_to(work)
        if any(part.startswith("..") for part in rel.parts):  # Kubernetes refuses such item paths
            continue
        try:
            content = path.read_bytes()
        except OSError as exc:
            issues.append(SpecIssue("--working-dir", f"has a file that cannot be read: {exc}", str(work)))
            continue
        key = re.sub(r"[^-._a-zA-Z0-9]", "_", f"code-{n:04d}-{rel.name}")[:253]
        try:
            value = shipped.data[key] = content.decode("utf-8")
        except UnicodeDecodeError:
            value = shipped.binary[key] = base64.b64encode(content).decode("ascii")
        shipped.paths[key] = f"{CODE_DIR}/{rel.as_posix()}"
        shipped.size += len(key) + len(value.encode())
        sizes[rel.parts[0]] = sizes.get(rel.parts[0], 0) + len(value.encode())
        if shipped.size > MAX_BYTES:
            rule = (
                f"the code folder sent in the ConfigMap must stay under {MAX_BYTES} bytes (Kubernetes' limit for a "
                f"ConfigMap is 1 MiB); biggest entries: {package.biggest(sizes)}"
            )
            issues.append(SpecIssue("--working-dir", rule, str(work), TOO_LARGE_HINT))
            break
    return shipped


def module_refs(spec: dict[str, Any]) -> list[str]:
    """The spec's 'package.module:function' references: the image must have those modules."""
    found: list[str] = []

    def note(value: str) -> str:
        target, _, function = value.rpartition(":")
        dotted = bool(target) and all(part.isidentifier() for part in target.split("."))
        if dotted and function.isidentifier() and not paths.is_file_target(target):
            found.append(value)
        return value

    package.walk_paths(spec, note)
    return found
