"""What a submitted job takes with it: the spec (validated here, first), the folder of the user's code as
Ray's ``working_dir``, raydt itself as a ``py_module``, and the entrypoint that runs raydt on the cluster.
Imports no Ray.

The rules (README "Ray Jobs"):
- ``working_dir`` is ``--working-dir``, else the deepest folder holding every code file the spec names
  (``trainConfig.trainerPath``/``model``/``data``/``loss``/``metrics``/``preprocess``/``postprocess``,
  ``serveConfig.predictorPath``, ``mapBatches`` files); a spec with only built-in code sends none. Excluded:
  ``DEFAULT_EXCLUDES`` and ``--exclude`` patterns (Ray also skips what ``.gitignore`` lists); at most
  ``--max-upload-mb`` (default 100 MiB, Ray's own ceiling is 512 MiB), measured before anything is sent.
- Every local path of the spec inside ``working_dir`` is made relative to it (the job runs in Ray's copy of
  it); one outside it stays absolute, with a warning unless the target is this machine's lasting cluster.
- ``runConfig.storagePath`` must be absolute or a URI (the job's own folder is temporary); ``config.address``
  is dropped (the job runs on the cluster it was sent to).
"""

from __future__ import annotations

import fnmatch
import json
import os
import secrets
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raydt import paths
from raydt.errors import OptionError, SpecError, SpecIssue
from raydt.jobs.cluster_fit import Demand

DEFAULT_EXCLUDES = (".git", "__pycache__", "*.pyc", ".venv", "venv", "node_modules", ".mypy_cache",
                    ".pytest_cache", ".ruff_cache", "*.egg-info", ".ipynb_checkpoints")  # fmt: skip
DEFAULT_MAX_UPLOAD_MB = 100.0
RAY_MAX_UPLOAD_MB = 512.0
#: the environment variable that carries the spec to the entrypoint (no file needs to travel for it)
SPEC_ENV = "RAYDT_JOB_SPEC"
#: the entrypoint's last line: this, then the run's result as JSON (the job's log is the only way back)
RESULT_MARKER = "@@raydt-result@@ "
#: seconds Ray waits after SIGTERM before SIGKILL when a job is stopped: time for raydt to end the run and
#: print its partial result (Ray's default is 3 s)
STOP_WAIT_S = 60
MAX_SPEC_BYTES = 100_000  # an environment variable stays far below Linux's 128 KiB per string


@dataclass
class Options:
    """Flags of ``raydt submit`` that shape what travels."""

    working_dir: str | None = None
    excludes: tuple[str, ...] = ()
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    python: str | None = None
    ship_raydt: bool = True
    entrypoint_cpus: float = 0.0
    entrypoint_gpus: float = 0.0


@dataclass
class Package:
    """A submission, ready for ``JobSubmissionClient.submit_job``."""

    job_id: str
    run_name: str
    mode: str
    spec: dict[str, Any]
    entrypoint: str
    runtime_env: dict[str, Any]
    entrypoint_resources: dict[str, float]
    summary: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    demand: Demand | None = None  # what a train or tune run asks of the cluster, checked before the upload


def build(source: Any, opts: Options, lasting: dict[str, Any] | None) -> Package:
    """Validate the spec here and assemble the submission (raise ``SpecError``/``OptionError`` first)."""
    from raydt.plan import default_name
    from raydt.spec import loader

    loaded = loader.load(source)
    mode = loaded.spec.mode
    _refuse_serving(loaded.spec)
    spec = paths.absolute_spec(loaded.raw, loaded.base_dirs)
    warnings: list[str] = []
    _drop_address(spec, warnings)
    rc = spec.setdefault("runConfig", {})
    _check_storage(rc)
    run_name = str(rc.get("name") or default_name(mode))
    rc["name"] = run_name
    code = paths.code_files(spec)
    work = working_dir(opts.working_dir, code)
    size = measure(work, opts) if work else {"files": 0, "bytes": 0}
    outside = relocate(spec, work)
    if outside and lasting is None:
        warnings.append(f"paths outside the submitted folder stay as they are and must exist on the cluster: {outside}")
    text = json.dumps(spec, separators=(",", ":"))
    if len(text.encode()) > MAX_SPEC_BYTES:
        rule = f"a submitted spec must stay under {MAX_SPEC_BYTES} bytes as JSON"
        hint = "Move large values (data) into files the job reads."
        raise SpecError([SpecIssue("<spec>", rule, len(text.encode()), hint)])
    python = opts.python or (str(lasting["python"]) if lasting and lasting.get("python") else "python")
    env: dict[str, Any] = {"env_vars": {SPEC_ENV: text, "RAY_JOB_STOP_WAIT_TIME_S": str(STOP_WAIT_S),
                                        "PYTHONUNBUFFERED": "1"}}  # fmt: skip
    excludes = [*DEFAULT_EXCLUDES, *opts.excludes]
    if work:
        env["working_dir"] = str(work)
    if opts.ship_raydt:
        env["py_modules"] = [str(Path(__file__).resolve().parents[1])]
    if work or opts.ship_raydt:
        env["excludes"] = excludes
    resources = {"CPU": float(opts.entrypoint_cpus), "GPU": float(opts.entrypoint_gpus)}
    entrypoint = f"exec {shlex.quote(python)} -m raydt.cli.job_entry"
    summary: dict[str, Any] = {
        "runName": run_name, "files": size["files"],
        "bytes": size["bytes"], "excludes": excludes, "pyModules": list(env.get("py_modules", [])),
        "entrypoint": entrypoint, "entrypointResources": resources,
    }  # fmt: skip
    if work:  # a built-in trainer sends no folder: the key is left out (the result model refuses null)
        summary["workingDir"] = str(work)
    job_id = f"{run_name[:80]}-{secrets.token_hex(3)}"
    return Package(job_id, run_name, mode, spec, entrypoint, env, resources, summary, warnings, _demand(loaded, rc))


def _demand(loaded: Any, rc: dict[str, Any]) -> Demand | None:
    """A train or tune run's workers and storage, as the run on the cluster will check them."""
    from raydt.plan import DEFAULT_STORAGE, workers

    if loaded.spec.mode not in ("train", "tune"):
        return None
    storage = str(rc.get("storagePath") or DEFAULT_STORAGE)
    return Demand(workers(loaded), storage, bool(loaded.spec.run_config.shared_storage))


def _refuse_serving(spec: Any) -> None:
    if spec.mode == "serve" or getattr(spec, "serve_config", None) is not None:
        where, given = ("mode", spec.mode) if spec.mode == "serve" else ("serveConfig", None)
        rule = "raydt submit runs train, tune and cluster specs; serving as a Ray Job is not supported"
        hint = "Train or tune with raydt submit, then serve on the head: raydt run serve.yaml --detach"
        raise SpecError([SpecIssue(where, rule, given, hint)])


def _drop_address(spec: dict[str, Any], warnings: list[str]) -> None:
    config = spec.get("config")
    if isinstance(config, dict) and config.pop("address", None) is not None:
        warnings.append("config.address was dropped: a submitted job runs on the cluster it was sent to")


def _check_storage(rc: dict[str, Any]) -> None:
    value = rc.get("storagePath")
    if isinstance(value, str) and not paths.is_remote(value) and not Path(os.path.expanduser(value)).is_absolute():
        raise SpecError([SpecIssue(
            "runConfig.storagePath",
            "a submitted job runs in a temporary folder on the cluster: the storage path must be absolute "
            "(as the cluster sees it) or a URI", value,
            "Give an absolute path on the cluster (shared by every node), a URI (s3://...), or leave it out "
            "for ~/raydt_results on the head.",
        )])  # fmt: skip


def _get(spec: dict[str, Any], section: str, key: str) -> Any:
    value = spec.get(section)
    return value.get(key) if isinstance(value, dict) else None


def working_dir(given: str | None, code: list[Path], at: str = "--working-dir") -> Path | None:
    """The folder that travels: ``given``, else the deepest folder holding every code file (None: no code);
    problems are ``OptionError`` at ``at``."""
    if given:
        work = Path(given).expanduser().resolve()
        if not work.is_dir():
            raise OptionError([SpecIssue(at, "must be an existing folder", given, "")])
        return work
    if not code:
        return None
    work = Path(os.path.commonpath([str(f.parent) for f in code]))
    if work == Path(work.anchor) or work == Path.home():
        raise OptionError([SpecIssue(
            at, "the code files the spec names have no common folder below / or your home",
            str(work), f"Keep the trainer and the files it uses in one project folder, or pass {at}.",
        )])  # fmt: skip
    return work


def measure(work: Path, opts: Options) -> dict[str, int]:
    """Files and bytes that would travel (an upper bound: ``.gitignore`` is not applied); stops and raises
    as soon as the limit is passed, naming the biggest entries."""
    limit = min(opts.max_upload_mb, RAY_MAX_UPLOAD_MB) * 1024 * 1024
    files, total = 0, 0
    sizes: dict[str, int] = {}
    for path, size in walk(work, (*DEFAULT_EXCLUDES, *opts.excludes)):
        files += 1
        total += size
        top = path.relative_to(work).parts[0]
        sizes[top] = sizes.get(top, 0) + size
        if total > limit:
            raise _too_large(work, limit, sizes)
    return {"files": files, "bytes": total}


def walk(work: Path, patterns: tuple[str, ...]) -> Iterator[tuple[Path, int]]:
    """Every file under ``work`` that travels (none matching ``patterns``, by file or folder name), with its size,
    in a stable order."""
    for root, dirs, names in os.walk(work):
        dirs[:] = sorted(d for d in dirs if not _excluded(d, patterns))
        for name in sorted(names):
            if _excluded(name, patterns):
                continue
            path = Path(root) / name
            try:
                size = path.stat().st_size
            except OSError:
                continue
            yield path, size


def biggest(sizes: dict[str, int]) -> str:
    """The three biggest entries, for a message: 'data (3.2 MiB), ...'."""
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{name} ({size / 2**20:.1f} MiB)" for name, size in top)


def _excluded(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def _too_large(work: Path, limit: float, sizes: dict[str, int]) -> OptionError:
    listed = biggest(sizes)
    return OptionError([SpecIssue(
        "--working-dir", f"the folder sent to the cluster must stay under {limit / 2**20:g} MiB "
        f"(--max-upload-mb; Ray's ceiling is {RAY_MAX_UPLOAD_MB:g} MiB); biggest entries: {listed}", str(work),
        "Exclude data and outputs (--exclude PATTERN, .gitignore), read data from storage the cluster "
        "reaches (s3://, a shared mount), or raise --max-upload-mb.",
    )])  # fmt: skip


def relocate(spec: dict[str, Any], work: Path | None, prefix: str = "") -> list[str]:
    """Paths of an absolute spec under ``work`` become relative to it (with ``prefix``: where the folder is
    restored, relative to the spec); the others stay absolute and are returned, sorted."""
    outside: set[str] = set()

    def move(value: str) -> str:
        target, sep, function = value.rpartition(":")
        is_ref = bool(sep) and bool(target) and paths.is_file_target(target) and "/" not in function
        raw = target if is_ref else value
        if paths.is_remote(raw) or not Path(raw).is_absolute():
            return value
        path = Path(raw)
        if work is not None and path.is_relative_to(work):
            rel = (prefix + path.relative_to(work).as_posix()).rstrip("/") or "."
            return f"{rel}:{function}" if is_ref else rel
        outside.add(raw)
        return value

    walk_paths(spec, move)
    return sorted(outside)


def walk_paths(spec: dict[str, Any], move: Any) -> None:
    """Every local path or code reference of a spec replaced (in place) by ``move(value)``."""
    from raydt.registry import MAP_KEYS

    metrics = _get(spec, "trainConfig", "metrics")
    if isinstance(metrics, list):
        spec["trainConfig"]["metrics"] = [move(m) if isinstance(m, str) else m for m in metrics]
    keys = [("trainConfig", key) for key in (*paths.CODE_KEYS, "resumeFromCheckpoint")]
    for section, key in (*keys, ("serveConfig", "predictorPath"), ("serveConfig", "checkpointPath"),
                         ("serveConfig", "experimentPath")):  # fmt: skip
        part = spec.get(section)
        if isinstance(part, dict) and isinstance(part.get(key), str):
            part[key] = move(part[key])
    data = spec.get("dataConfig")
    data = data if isinstance(data, dict) else {}
    for name in ("train", "validation"):
        source = data.get(name)
        if isinstance(source, dict) and isinstance(source.get("paths"), str | list):
            given = source["paths"]
            source["paths"] = move(given) if isinstance(given, str) else [move(p) for p in given]
    steps = data.get("preprocess")
    for step in steps if isinstance(steps, list) else []:
        for key in MAP_KEYS if isinstance(step, dict) else ():
            if isinstance(step.get(key), str):
                step[key] = move(step[key])
