"""``trainerPath`` references: 'path/to/file.py:function' or 'package.module:function'.

``check`` is static (it reads the source with ``ast`` and never executes it), so ``raydt validate``
stays import-free; ``load`` imports the code for a run.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raydt import paths
from raydt.errors import SpecIssue, UserCodeError

FIELD = "trainConfig.trainerPath"
HINT = "Use 'path/to/file.py:function' or 'package.module:function'."


@dataclass(frozen=True)
class TrainerRef:
    """A parsed reference: either a file path or a module name, plus a function name."""

    target: str
    function: str

    @property
    def is_file(self) -> bool:
        return paths.is_file_target(self.target)

    def __str__(self) -> str:
        return f"{self.target}:{self.function}"


def parse(value: str, base_dirs: tuple[Path, ...] = (), field: str = FIELD) -> TrainerRef | SpecIssue:
    """Split ``value`` into target and function; a file target is resolved by ``paths.resolve`` (a relative
    one against the current directory, then the spec file's directory: the first where the file exists).
    ``field``: the spec path problems are reported at (the same references name models, data and losses)."""
    target, sep, function = value.rpartition(":")
    if not sep or not target or not function.isidentifier():
        return SpecIssue(field, "must be 'target:function'", value, HINT)
    ref = TrainerRef(target, function)
    if ref.is_file:
        ref = TrainerRef(str(paths.resolve(target, base_dirs)), function)
    elif not all(part.isidentifier() for part in target.split(".")):
        return SpecIssue(field, "module name must be dotted identifiers", value, HINT)
    return ref


def check(ref: TrainerRef, raw: str) -> SpecIssue | None:
    """Check that the function exists and takes at most one positional argument, without running it."""
    found = definition(ref, raw, FIELD)
    if isinstance(found, ast.ClassDef):
        return SpecIssue(FIELD, f"'{ref.function}' is a class, not a function", raw, HINT)
    if isinstance(found, ast.FunctionDef | ast.AsyncFunctionDef):
        return _check_signature(found, raw)
    return found


Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def definition(ref: TrainerRef, raw: str, field: str) -> Definition | SpecIssue | None:
    """The top-level ``def`` or ``class`` that ``ref`` names, read with ``ast`` (never run); None when it is
    bound dynamically or the module is compiled (checked when loaded); a SpecIssue at ``field`` otherwise."""
    if ref.is_file:
        path = Path(ref.target)
        if not path.exists():
            return SpecIssue(field, "file does not exist", raw, f"No file at {path}.")
        if not path.is_file():
            return SpecIssue(field, "must name a Python file, not a directory", raw, HINT)
    else:
        try:
            spec = importlib.util.find_spec(ref.target)
        except (ImportError, ValueError) as exc:
            return SpecIssue(field, f"module cannot be found ({exc})", raw, "Is it on PYTHONPATH?")
        if spec is None:
            return SpecIssue(field, "module cannot be found", raw, "Is it installed or on PYTHONPATH?")
        if spec.origin is None or not spec.origin.endswith(".py"):
            return None  # compiled or namespace module: checked when loaded
        path = Path(spec.origin)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError) as exc:
        return SpecIssue(field, f"file cannot be read ({exc})", raw)
    except SyntaxError as exc:
        return SpecIssue(field, f"file has a syntax error at line {exc.lineno}: {exc.msg}", raw)
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
            if node.name == ref.function:
                return node
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.ImportFrom | ast.Import):
            assigned = _assigned_names(node)
            names.extend(assigned)
            if ref.function in assigned:
                return None  # bound dynamically: checked when loaded
    listed = ", ".join(n for n in names if not n.startswith("_")) or "none"
    return SpecIssue(
        field, f"function '{ref.function}' is not defined in {ref.target}", raw, f"Top-level names: {listed}."
    )


def _assigned_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    return []


def _check_signature(node: ast.FunctionDef | ast.AsyncFunctionDef, raw: str) -> SpecIssue | None:
    if isinstance(node, ast.AsyncFunctionDef):
        return SpecIssue(FIELD, "the training function must not be async", raw)
    args = node.args
    positional = args.posonlyargs + args.args
    required = len(positional) - len(args.defaults)
    required_kw = [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
    if required > 1 or required_kw:
        return SpecIssue(
            FIELD,
            "the training function must take one argument (config) or none",
            raw,
            f"def {node.name}(config): ... is what Ray Train calls on every worker.",
        )
    return None


def load(ref: TrainerRef, one_argument: bool = True) -> Callable[..., Any]:
    """Import the referenced function (``one_argument``: it must take one argument or none; a model class or
    a loss need not); errors raised by the user's code become ``UserCodeError``."""
    try:
        if ref.is_file:
            path = Path(ref.target)
            module_name = "raydt_user_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            sys.path.insert(0, str(path.parent))  # sibling imports, like `python file.py`
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(ref.target)
    except Exception as exc:
        raise UserCodeError(
            f"importing trainer '{ref}' raised {type(exc).__name__}: {exc}",
            hint="Your trainer module fails at import time; the traceback is in error.details.",
        ) from exc
    fn = getattr(module, ref.function, None)
    if not callable(fn):
        raise UserCodeError(f"'{ref}' is not a callable function", hint=HINT)
    if not one_argument:
        return fn  # type: ignore[no-any-return]
    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    if len(params) > 1:
        raise UserCodeError(f"'{ref}' must take one argument (config) or none", hint=HINT)
    return fn  # type: ignore[no-any-return]


def format_traceback(exc: BaseException, lines: int = 12) -> list[str]:
    """The last ``lines`` lines of an exception's traceback, for error.details."""
    text = "".join(traceback.format_exception(exc))
    return text.rstrip().splitlines()[-lines:]


_TUNE_MARKERS = (
    "tune.report",
    "tune.get_checkpoint",
    "TuneReportCheckpointCallback",
    "TuneReportCallback",
    "from ray.tune import report",
    "from ray.tune import get_checkpoint",
)


def source_path(ref: TrainerRef) -> Path | None:
    """The Python source file behind ``ref``, if there is one (never imports it)."""
    if ref.is_file:
        return Path(ref.target)
    try:
        spec = importlib.util.find_spec(ref.target)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def detect_kind(ref: TrainerRef) -> str:
    """'tune' if the source reports through Ray Tune (tune.report, Tune callbacks), else 'train'."""
    path = source_path(ref)
    try:
        text = path.read_text(encoding="utf-8") if path else ""
    except (OSError, UnicodeDecodeError):
        text = ""
    return "tune" if any(marker in text for marker in _TUNE_MARKERS) else "train"


def kind_of(trainer_path: str | None, trainer_kind: str, base_dirs: tuple[Path, ...] = ()) -> str:
    """'train' or 'tune': how a trainer reports (``trainConfig.trainerKind``, else read from its source by
    ``detect_kind``; the built-in trainers are Ray Train loops)."""
    if trainer_kind != "auto" or trainer_path is None:
        return "train" if trainer_kind == "auto" else trainer_kind
    ref = parse(trainer_path, base_dirs)
    return detect_kind(ref) if isinstance(ref, TrainerRef) else "train"


# Static checks of any code reference a spec gives (a model class, a data or loss function, a LightningModule):
# the user-model and Lightning checks share them.


@dataclass(frozen=True)
class Signature:
    """What a model class's constructor takes (None for a function model: it reads the config itself)."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    any_keyword: bool  # **kwargs: every key is welcome


def find_definition(raw: str, path: str, base_dirs: tuple[Path, ...], issues: list[SpecIssue]) -> Any:
    """The ``def``/``class`` a reference names (None: unknown statically, or already reported in ``issues``)."""
    ref = parse(raw, base_dirs, field=path)
    found = definition(ref, raw, path) if isinstance(ref, TrainerRef) else ref
    if isinstance(found, SpecIssue):
        issues.append(found)
        return None
    return found


def check_function(node: Any, raw: str, path: str, most: int, issues: list[SpecIssue], want: str = "") -> None:
    """A function reference: a plain ``def`` with at most ``most`` required positional arguments (``want``: how
    the message names the arguments it is called with)."""
    if node is None:
        return
    if not isinstance(node, ast.FunctionDef):
        kind = "a class" if isinstance(node, ast.ClassDef) else "async"
        issues.append(SpecIssue(path, f"must name a plain function (it is {kind})", raw))
        return
    args = node.args
    required = len(args.posonlyargs + args.args) - len(args.defaults)
    if required > most:
        want = want or {1: "(config) or ()", 2: "(outputs, targets)"}[most]
        issues.append(SpecIssue(path, f"must take {want}; {node.name} requires {required} arguments", raw))


def constructor_signature(node: Any, raw: str, path: str, issues: list[SpecIssue]) -> Signature | None:
    """A class's constructor keywords; None for a function (checked to take the config, or nothing)."""
    if not isinstance(node, ast.ClassDef):
        check_function(node, raw, path, 1, issues)
        return None
    init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is None:
        return None  # inherited constructor: checked when built
    args = init.args
    positional = [a.arg for a in args.posonlyargs + args.args][1:]  # after self
    defaults = len(args.defaults)
    required = positional[: len(positional) - defaults] if defaults else positional
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
    optional = [a for a in positional + [k.arg for k in args.kwonlyargs] if a not in required]
    return Signature(tuple(required), tuple(optional), args.kwarg is not None)


def call_loop(loop: Callable[..., Any], config: dict[str, Any]) -> Any:
    """Call a training loop as Ray Train calls ``train_loop_per_worker``: with the config if it takes an argument."""
    required = [
        p
        for p in inspect.signature(loop).parameters.values()
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    return loop(config) if required else loop()
