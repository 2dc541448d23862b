"""The one resolver for every local path a spec names. Never imports Ray.

The rule, for every path a run *reads* (``trainConfig.trainerPath``, ``model``, ``data``, ``loss``, ``metrics``,
``preprocess``, ``postprocess`` and ``resumeFromCheckpoint``,
``serveConfig.checkpointPath``/``experimentPath``/``predictorPath``, the same three of ``predictConfig`` and its
``data`` paths, ``dataConfig`` paths and ``mapBatches`` files): ``~`` expands; an absolute path is taken as it is;
a relative one resolves against the first of the spec's base directories where it exists (the current directory,
then the spec file's folder; for a glob, the first where it matches), else against the first of them (so a missing
file is reported where the current directory would have it). URIs (``s3://``, ``gs://``, ...) are left as they are.

Validation, the plan, Ray Data ingest and serving all resolve through here, and the plan carries the
resolved paths onward. An experiment stores its spec with these paths resolved (``absolute_spec``), so
``raydt resume DIR`` finds the same files from any directory.

``runConfig.storagePath`` and ``predictConfig.output.path`` are written, not read: they resolve against the
current directory only (``output_dir``).
"""

from __future__ import annotations

import copy
import glob
import os
from pathlib import Path
from typing import Any

from raydt.registry import MAP_KEYS

#: trainConfig keys that name the user's code as ``file.py:name`` (or a module): resolved, listed and shipped alike
CODE_KEYS = ("trainerPath", "model", "data", "loss", "preprocess", "postprocess")


def is_remote(path: str) -> bool:
    """A URI read through pyarrow's filesystems (s3://, gs://, hdfs://, ...), not a local path."""
    return "://" in path and not path.startswith("file://")


def is_model_uri(value: str) -> bool:
    """``models:/NAME@alias`` or ``models:/NAME/VERSION``: a model in MLflow's registry (as
    ``serveConfig.checkpointPath``), fetched by ``raydt.tracking.models`` when served, not a path."""
    return value.startswith(MODEL_URI_PREFIX)


MODEL_URI_PREFIX = "models:/"


def is_file_target(target: str) -> bool:
    """Whether the target of a 'target:function' reference names a file (else a dotted module)."""
    return target.endswith(".py") or "/" in target or "\\" in target


def resolve(value: str, base_dirs: tuple[Path, ...] = ()) -> Path:
    """The absolute path ``value`` names (see the module docstring for the rule)."""
    path = Path(value.removeprefix("file://")).expanduser()
    if not path.is_absolute() and base_dirs:
        candidates = [base / path for base in base_dirs]
        found = _matches if glob.has_magic(str(path)) else Path.exists
        path = next((c for c in candidates if found(c)), candidates[0])
    return path.resolve()


def _matches(pattern: Path) -> bool:
    return bool(glob.glob(str(pattern)))


def resolve_ref(value: str, base_dirs: tuple[Path, ...] = ()) -> str:
    """A 'target:function' reference with a file target made absolute (a module reference as given)."""
    target, sep, function = value.rpartition(":")
    if not sep or not target or not is_file_target(target):
        return value
    return f"{resolve(target, base_dirs)}:{function}"


def data_paths(given: str | list[str], base_dirs: tuple[Path, ...]) -> list[str]:
    """``dataConfig.*.paths`` resolved: local paths (and globs) absolute, URIs as given."""
    items = [given] if isinstance(given, str) else list(given)
    return [item if is_remote(item) else str(resolve(item, base_dirs)) for item in items]


def expand(paths: list[str]) -> list[str]:
    """Globs expanded (Ray Data's readers take files and folders, not patterns)."""
    out: list[str] = []
    for path in paths:
        out.extend(sorted(glob.glob(path)) if not is_remote(path) and glob.has_magic(path) else [path])
    return out


def output_dir(value: str) -> str:
    """A directory raydt writes (``runConfig.storagePath``): relative to the current directory; a URI
    (``s3://``, ``gs://``, ...) is Ray's to write and stays as it is; ``file:///x`` is the local path ``/x``."""
    if is_remote(value):
        return value
    return str(Path(os.path.expanduser(value.removeprefix("file://"))).resolve())


def absolute_spec(raw: dict[str, Any], base_dirs: tuple[Path, ...]) -> dict[str, Any]:
    """A copy of a (valid) raw spec with every local path it reads resolved: what an experiment stores, so that
    the spec means the same files wherever it is loaded again."""
    spec = copy.deepcopy(raw)
    tc = _section(spec, "trainConfig")
    for key in CODE_KEYS:  # loss: a built-in name stays
        _update(tc, key, lambda v: resolve_ref(v, base_dirs))
    if isinstance(tc.get("metrics"), list):
        tc["metrics"] = [resolve_ref(m, base_dirs) if isinstance(m, str) else m for m in tc["metrics"]]

    def local(value: str) -> str:  # a URI (s3://..., models:/...) stays as it is
        return value if is_remote(value) or is_model_uri(value) else str(resolve(value, base_dirs))

    _update(tc, "resumeFromCheckpoint", local)
    sc = _section(spec, "serveConfig")
    _update(sc, "predictorPath", lambda v: resolve_ref(v, base_dirs))
    for key in ("checkpointPath", "experimentPath"):
        _update(sc, key, local)
    pc = _section(spec, "predictConfig")
    _update(pc, "predictorPath", lambda v: resolve_ref(v, base_dirs))
    for key in ("checkpointPath", "experimentPath"):
        _update(pc, key, local)
    _update(_section(pc, "output"), "path", output_dir)  # written: relative to the current directory
    dc = _section(spec, "dataConfig")
    for source in (_section(dc, "train"), _section(dc, "validation"), _section(pc, "data")):
        given = source.get("paths")
        if isinstance(given, str) or (isinstance(given, list) and all(isinstance(p, str) for p in given)):
            resolved = data_paths(given, base_dirs)
            source["paths"] = resolved[0] if isinstance(given, str) else resolved
    steps = dc.get("preprocess")
    for step in steps if isinstance(steps, list) else []:
        for key in MAP_KEYS if isinstance(step, dict) else ():
            _update(step, key, lambda v: resolve_ref(v, base_dirs))
    return spec


def code_files(spec: dict[str, Any]) -> list[Path]:
    """The user's code files an absolute spec (``absolute_spec``) names: what a Ray Job ships and what workers
    must be able to import beside (a trainer's ``import helper``)."""
    tc, sc, dc = _get(spec, "trainConfig"), _get(spec, "serveConfig"), _get(spec, "dataConfig")
    refs = [tc.get(key) for key in CODE_KEYS]
    refs += [*(tc.get("metrics") or []), sc.get("predictorPath"), _get(spec, "predictConfig").get("predictorPath")]
    steps = dc.get("preprocess")
    for step in steps if isinstance(steps, list) else []:
        refs += [step.get(k) for k in MAP_KEYS] if isinstance(step, dict) else []
    files = []
    for ref in refs:
        target = ref.rpartition(":")[0] if isinstance(ref, str) else ""
        if target and is_file_target(target):
            files.append(Path(target))
    return files


def code_folders(raw: dict[str, Any], base_dirs: tuple[Path, ...]) -> list[str]:
    """The folders of the spec's code files, each once, in order."""
    return list(dict.fromkeys(str(f.parent) for f in code_files(absolute_spec(raw, base_dirs))))


def _get(spec: dict[str, Any], key: str) -> dict[str, Any]:
    value = spec.get(key)
    return value if isinstance(value, dict) else {}


def _section(spec: dict[str, Any], key: str) -> dict[str, Any]:
    value = spec.get(key)
    return value if isinstance(value, dict) else {}


def _update(section: dict[str, Any], key: str, how: Any) -> None:
    value = section.get(key)
    if isinstance(value, str) and value:
        section[key] = how(value)
