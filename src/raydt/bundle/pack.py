"""``raydt bundle DIR [-o FILE] [--with-checkpoints] [--result FILE]``: one experiment as a .tar.gz.

Members, as the storage path holds them (so the bundle, extracted, reads like the original)::

    raydt_bundle.json           what was packed: experiment, files, redactions, what was left out and why
    <name>/...                  the experiment folder: spec, ledgers, post-mortems, report, trial folders
                                (params, results, progress, error.txt), a saved result as raydt_result.json
    logs/<name>-<time>-<pid>.log the CLI's log files of the experiment's runs

Left out: checkpoint folders (``checkpoint_*``), the local MLflow artifacts and files over ``MAX_FILE`` unless
``--with-checkpoints``; always pickles (``*.pkl``: they cannot be redacted), the MLflow database, links. Text files
are packed as redacted copies (``redact``); the originals are never touched.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raydt.bundle.redact import Redactor
from raydt.errors import OptionError, SpecIssue
from raydt.experiment import BUNDLE_MANIFEST, LOGS_DIR, MLFLOW_ARTIFACTS, MLFLOW_DB, RESULT_FILE, SPEC_FILE

MAX_FILE = 16 << 20
#: a longer log is packed as its last LOG_TAIL bytes
LOG_TAIL = 8 << 20
TEXT_SUFFIXES = frozenset(
    {".json", ".jsonl", ".yaml", ".yml", ".txt", ".log", ".out", ".err", ".csv", ".html", ".htm", ".md", ".toml",
     ".ini", ".cfg", ".py", ".sh", ".env", ""}
)  # fmt: skip


@dataclass
class Packed:
    """What ``pack`` wrote."""

    path: Path
    experiment: str
    size: int
    files: int
    redactions: int
    redacted_files: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    with_checkpoints: bool = False


def pack(experiment_dir: str | Path, out: str | Path | None = None, *, with_checkpoints: bool = False,
         result: str | Path | None = None) -> Packed:  # fmt: skip
    """Pack ``experiment_dir`` into ``out`` (default ``./<name>.tar.gz``); raises ``OptionError`` for a folder that
    is no experiment, a result that is no result, or an output that cannot be written."""
    exp = _experiment(experiment_dir)
    target = Path(out).expanduser().resolve() if out else Path.cwd() / f"{exp.name}.tar.gz"
    members, left_out = _members(exp, target, with_checkpoints)
    extra = {f"{exp.name}/{RESULT_FILE}": _result(result)} if result is not None else {}
    redactor = Redactor()
    packed = Packed(target, exp.name, 0, 0, 0, left_out=left_out, with_checkpoints=with_checkpoints)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(partial, "w:gz") as tar:
            # HTML last: it loses the values redacted in every other file
            for arcname, path in sorted(members.items(), key=lambda m: (m[1].suffix in (".html", ".htm"), m[0])):
                _add(tar, arcname, path, redactor, packed)
            for arcname, text in extra.items():
                _add_bytes(tar, arcname, _redacted(text, ".json", redactor, packed, arcname), time.time())
            packed.redactions, packed.files = redactor.count, len(tar.getmembers()) + 1  # and the manifest
            manifest = _manifest(exp, packed)
            _add_bytes(tar, BUNDLE_MANIFEST, json.dumps(manifest, indent=2).encode(), time.time())
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise OptionError([SpecIssue("-o", f"cannot write the bundle: {exc.strerror or exc}", str(target),
                                     "Pass -o a file in a folder you can write.")]) from None  # fmt: skip
    packed.size = target.stat().st_size
    return packed


def _experiment(given: str | Path) -> Path:
    exp = Path(given).expanduser().resolve()
    if not exp.is_dir() or not (exp / SPEC_FILE).is_file():
        what = (
            "does not exist" if not exp.exists() else "is not a folder" if not exp.is_dir() else f"has no {SPEC_FILE}"
        )
        raise OptionError([SpecIssue(
            "DIR", f"must be a raydt experiment folder (one that holds {SPEC_FILE}); this one {what}", str(given),
            "Pass the experimentPath printed in a raydt result (<storagePath>/<name>).",
        )])  # fmt: skip
    return exp


def _result(given: str | Path) -> str:
    path = Path(given).expanduser()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        doc, why = None, str(getattr(exc, "strerror", None) or exc)
    else:
        why = "it is not a raydt result (no status and results)"
    if not isinstance(doc, dict) or "status" not in doc or "results" not in doc:
        raise OptionError([SpecIssue("--result", f"must be a saved raydt result: {why}", str(given),
                                     "Save one with: raydt run SPEC > result.json")])  # fmt: skip
    return json.dumps(doc, indent=2)


def _members(exp: Path, target: Path, with_checkpoints: bool) -> tuple[dict[str, Path], list[str]]:
    """(arcname -> file, 'arcname (why)' for each thing left out)."""
    members: dict[str, Path] = {}
    left: list[str] = []
    for root, dirs, files in os.walk(exp):
        rel = Path(root).relative_to(exp)
        for d in sorted(dirs):
            why = _skip_dir(d, with_checkpoints) or ("a link" if (Path(root) / d).is_symlink() else None)
            if why:
                left.append(f"{exp.name}/{(rel / d).as_posix()}/ ({why})")
                dirs.remove(d)
        dirs.sort()
        for f in sorted(files):
            path = Path(root) / f
            arcname = f"{exp.name}/{(rel / f).as_posix()}"
            why = None if path == target else _skip_file(path, with_checkpoints)
            if path == target or path.name.endswith(".part"):
                continue
            if why:
                left.append(f"{arcname} ({why})")
            else:
                members[arcname] = path
    pattern = re.compile(rf"^{re.escape(exp.name)}-\d{{8}}-\d{{6}}-\d+\.log$")
    logs = exp.parent / LOGS_DIR
    for log in sorted(logs.iterdir()) if logs.is_dir() else []:
        if pattern.match(log.name) and log.is_file():
            members[f"{LOGS_DIR}/{log.name}"] = log
    return members, left


def _skip_dir(name: str, with_checkpoints: bool) -> str | None:
    if name.startswith("checkpoint_") and not with_checkpoints:
        return "a checkpoint: pass --with-checkpoints"
    if name == MLFLOW_ARTIFACTS and not with_checkpoints:
        return "MLflow artifacts: pass --with-checkpoints"
    return None


def _skip_file(path: Path, with_checkpoints: bool) -> str | None:
    if path.is_symlink():
        return "a link"
    if path.suffix == ".pkl" and "checkpoint_" not in str(path):
        return "a pickle: it cannot be redacted"
    if path.name == MLFLOW_DB or path.name.startswith(f"{MLFLOW_DB}-"):
        return "the MLflow database: it cannot be redacted"
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    if size > MAX_FILE and not with_checkpoints and path.suffix not in (".log", ".out", ".err"):
        return f"{size >> 20} MB, over {MAX_FILE >> 20} MB: pass --with-checkpoints"
    return None


def _add(tar: tarfile.TarFile, arcname: str, path: Path, redactor: Redactor, packed: Packed) -> None:
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            cut = size > LOG_TAIL and path.suffix in (".log", ".out", ".err")
            fh.seek(size - LOG_TAIL if cut else 0)
            data = fh.read()
        mtime = path.stat().st_mtime
    except OSError as exc:
        packed.left_out.append(f"{arcname} (unreadable: {exc.strerror or exc})")
        return
    if cut:
        packed.left_out.append(f"{arcname} (cut to its last {LOG_TAIL >> 20} MB)")
    if path.suffix.lower() in TEXT_SUFFIXES and b"\0" not in data[:8192]:
        text = data.decode("utf-8", "replace")
        data = _redacted(text, path.suffix.lower(), redactor, packed, arcname)
    _add_bytes(tar, arcname, data, mtime)


def _redacted(text: str, suffix: str, redactor: Redactor, packed: Packed, arcname: str) -> bytes:
    before = redactor.count
    new = redactor.document(text, suffix)
    if redactor.count > before:
        packed.redacted_files.append(arcname)
    return new.encode("utf-8")


def _add_bytes(tar: tarfile.TarFile, arcname: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(arcname)
    info.size, info.mtime, info.mode = len(data), int(mtime), 0o644
    tar.addfile(info, io.BytesIO(data))


def _manifest(exp: Path, packed: Packed) -> dict[str, Any]:
    from raydt import __version__

    return {
        "experiment": exp.name,
        "source": str(exp),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "raydtVersion": __version__,
        "withCheckpoints": packed.with_checkpoints,
        "redactions": packed.redactions,
        "redactedFiles": packed.redacted_files,
        "leftOut": packed.left_out,
    }
