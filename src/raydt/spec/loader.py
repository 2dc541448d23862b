"""Load a spec from a file, stdin or a dict; unwrap the skill wrapper; report every problem at once."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from raydt.errors import SpecError, SpecFileError, SpecIssue
from raydt.spec import checks
from raydt.spec.model import Spec

SKILL_NAME = "ray-distributed-trainer"
SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec and where it came from."""

    spec: Spec
    raw: dict[str, Any]
    base_dirs: tuple[Path, ...]  # where relative paths in the spec resolve
    origin: str  # file path, '<stdin>' or '<dict>'


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader that reads 1e-5 as a float (YAML 1.2), not as the string '1e-5'."""


_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def read(source: str | Path | dict[str, Any]) -> tuple[dict[str, Any], tuple[Path, ...], str]:
    """The raw spec dict, the directories relative paths resolve against, and its origin."""
    cwd = Path.cwd()
    if isinstance(source, dict):
        return source, (cwd,), "<dict>"
    if str(source) == "-":
        return _parse(sys.stdin.read(), "<stdin>", None), (cwd,), "<stdin>"
    path = Path(source).expanduser()
    if not path.exists():
        raise SpecFileError(f"spec file not found: {path}")
    if path.is_dir():
        raise SpecFileError(f"spec path is a directory, not a file: {path}")
    if path.suffix.lower() not in SUFFIXES:
        raise SpecFileError(f"spec file must end in .json, .yaml or .yml (got '{path.name}')")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecFileError(f"cannot read spec file {path}: {exc}") from exc
    raw = _parse(text, str(path), path.suffix.lower())
    return raw, (cwd, path.resolve().parent), str(path)


def _parse(text: str, origin: str, suffix: str | None) -> dict[str, Any]:
    if not text.strip():
        raise SpecFileError(f"spec {origin} is empty")
    data: Any
    if suffix == ".json" or (suffix is None and text.lstrip().startswith(("{", "["))):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecFileError(
                f"spec {origin} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
            ) from exc
        except RecursionError as exc:
            raise SpecFileError(f"spec {origin} is nested too deeply") from exc
    else:
        try:
            data = yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise SpecFileError(f"spec {origin} is not valid YAML: {problem}{where}") from exc
        except RecursionError as exc:
            raise SpecFileError(f"spec {origin} is nested too deeply") from exc
    if not isinstance(data, dict):
        raise SpecFileError(f"spec {origin} must be an object at the top level (got {type(data).__name__})")
    return data


def unwrap(raw: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The spec inside the seed's skill wrapper ({"kind": "skill", "skill": {"context": ...}})."""
    if raw.get("kind") != "skill":
        return raw, ""
    skill = raw.get("skill")
    if not isinstance(skill, dict) or not isinstance(skill.get("context"), dict):
        raise SpecError([SpecIssue("skill.context", "must be an object holding the spec", skill)])
    name = skill.get("name", SKILL_NAME)
    if name != SKILL_NAME:
        raise SpecError([SpecIssue("skill.name", f"must be '{SKILL_NAME}'", name)])
    return skill["context"], "skill.context."


def load(source: str | Path | dict[str, Any]) -> LoadedSpec:
    """Read, unwrap and validate a spec; raises ``SpecError`` listing every problem found."""
    outer, base_dirs, origin = read(source)
    raw, prefix = unwrap(outer)
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        issues = [_issue(err) for err in _untag_unions(exc.errors(include_url=False), raw)]
        issues += _raw_checks(raw, base_dirs)
        raise SpecError(_prefixed(issues, prefix)) from None
    issues = checks.check(spec, raw, base_dirs)
    if issues:
        raise SpecError(_prefixed(issues, prefix))
    return LoadedSpec(spec, raw, base_dirs, origin)


#: Union members pydantic names in error locations: scalar branch vs object branch.
_UNION_TAGS = {"constrained-int": False, "int": False, "WorkerRange": True}


def _untag_unions(errors: list[Any], raw: dict[str, Any]) -> list[Any]:
    """For ``int | {min, max}`` fields keep only the errors of the branch the input was meant for."""
    kept = []
    for err in errors:
        loc = list(err["loc"])
        tag = next((i for i, part in enumerate(loc) if part in _UNION_TAGS), None)
        if tag is None:
            kept.append(err)
            continue
        value: Any = raw
        for part in loc[:tag]:
            value = value.get(part) if isinstance(value, dict) else None
        if _UNION_TAGS[loc[tag]] == isinstance(value, dict):
            kept.append({**err, "loc": tuple(loc[:tag] + loc[tag + 1 :])})
    return kept


def _raw_checks(raw: dict[str, Any], base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    """Checks that still run when the model could not be built."""
    tc = raw.get("trainConfig")
    if isinstance(tc, dict) and isinstance(tc.get("trainerPath"), str) and tc["trainerPath"]:
        problem = checks.check_trainer_path(tc["trainerPath"], base_dirs)
        return [problem] if problem else []
    return []


def _prefixed(issues: list[SpecIssue], prefix: str) -> list[SpecIssue]:
    if not prefix:
        return issues
    return [SpecIssue(prefix + i.path if i.path else prefix.rstrip("."), i.rule, i.value, i.hint) for i in issues]


_COMPARISONS = (
    ("input should be", "must be"),
    ("greater than or equal to", ">="),
    ("less than or equal to", "<="),
    ("greater than", ">"),
    ("less than", "<"),
)


def _issue(err: Any) -> SpecIssue:
    loc = tuple(err["loc"])
    path = ".".join(str(p) for p in loc)
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        valid = _valid_keys(loc[:-1])
        return SpecIssue(path, "unknown key", str(loc[-1]), checks.closest(str(loc[-1]), valid))
    if kind == "missing":
        return SpecIssue(path, "is required", None, "")
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        allowed = re.findall(r"'([^']*)'", expected)
        hint = checks.closest(str(value), allowed) if allowed else ""
        return SpecIssue(path, f"must be one of {expected}", value, hint)
    if kind == "model_type":
        return SpecIssue(path, "must be an object", value, "")
    msg = err["msg"]
    rule = msg[0].lower() + msg[1:] if msg else kind
    for long, short in _COMPARISONS:
        rule = rule.replace(long, short)
    return SpecIssue(path, rule, value, "")


def _valid_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] | None = Spec
    for part in loc:
        if model is None:
            return []
        model = _submodel(model, str(part))
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _submodel(model: type[BaseModel], alias: str) -> type[BaseModel] | None:
    for name, field in model.model_fields.items():
        if (field.alias or name) == alias:
            for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
                if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                    return candidate
    return None
