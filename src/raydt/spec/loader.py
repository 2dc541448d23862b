"""Load a spec from a file, stdin or a dict; unwrap the skill wrapper; report every problem at once.

When pydantic refuses values, the cross-field checks still run: on a copy of the spec without those values
(``spec.repair``); a check that needs one of them waits for it and says so (``spec.waiting``).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from raydt.errors import SpecError, SpecFileError, SpecIssue
from raydt.spec import checks
from raydt.spec.model import Spec
from raydt.spec.pydantic_issues import issue, untag_unions
from raydt.spec.repair import repair
from raydt.spec.waiting import Waiting

SKILL_NAME = "ray-distributed-trainer"
SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec and where it came from."""

    spec: Spec
    raw: dict[str, Any]
    base_dirs: tuple[Path, ...]  # where relative paths in the spec resolve
    origin: str  # file path, '<stdin>' or '<dict>'


class _DuplicateKey(ValueError):
    """A key given twice in one object of a spec file."""

    def __init__(self, key: Any) -> None:
        super().__init__(f"duplicate key {key!r}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``' object hook: a key given twice is refused (json keeps the last one silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader that reads 1e-5 as a float (YAML 1.2), not as the string '1e-5', and refuses a key given twice
    in one mapping (PyYAML keeps the last one silently: ``mode:`` twice would run the second mode)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue  # merge keys (<<) may be overridden on purpose; complex keys are no spec's
            key = self.construct_object(key_node)
            if key in first:
                where = f"first at line {first[key] + 1}"
                raise yaml.MarkedYAMLError(
                    problem=str(_DuplicateKey(key)), problem_mark=key_node.start_mark, context=where
                )
            first[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


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
            data = json.loads(text, object_pairs_hook=_no_duplicates)
        except _DuplicateKey as exc:
            raise SpecFileError(
                f"spec {origin} is not valid JSON: {exc} in one object (JSON keeps only the last)"
            ) from exc
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
            if problem.startswith("duplicate key"):  # _Yaml12Loader: where the key came first, too
                where += f" ({getattr(exc, 'context', '')}; YAML keeps only the last)"
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
    return validated(*read(source))


def validated(outer: dict[str, Any], base_dirs: tuple[Path, ...], origin: str) -> LoadedSpec:
    """``load`` of what ``read`` returned (a caller that looks at the raw spec first reads it once)."""
    raw, prefix = unwrap(outer)
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(_prefixed(_problems(exc, raw, base_dirs), prefix)) from None
    wait = Waiting()
    issues = checks.check(spec, raw, base_dirs, wait)
    if issues:
        raise SpecError(_prefixed(issues + wait.notes(), prefix))
    return LoadedSpec(spec, raw, base_dirs, origin)


def _problems(exc: ValidationError, raw: dict[str, Any], base_dirs: tuple[Path, ...]) -> list[SpecIssue]:
    """pydantic's problems, then those of the cross-field checks that do not depend on a refused value (run on
    the spec without those values), then one line per refused value that other checks wait for."""
    errors = untag_unions(exc.errors(include_url=False), raw)
    issues = [issue(err) for err in errors]
    repaired = repair(raw, errors)
    if repaired.spec is None:
        return [*issues, SpecIssue("", "the cross-field checks run once these problems are fixed")]
    wait = Waiting(repaired.dropped)
    found = checks.check(repaired.spec, repaired.raw, base_dirs, wait)
    return issues + [i for i in found if not wait.dropped(i.path)] + wait.notes()


def _prefixed(issues: list[SpecIssue], prefix: str) -> list[SpecIssue]:
    if not prefix:
        return issues
    return [SpecIssue(prefix + i.path if i.path else prefix.rstrip("."), i.rule, i.value, i.hint) for i in issues]
