"""Every error code is a class of ``raydt.errors``, and the documented lists (the output schema's enum, the docs'
list) are exactly ``errors.ERROR_CODES``."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from raydt import errors
from raydt.errors import ERROR_CODES, EXIT_SPEC_ERROR, FAILURE_CLASSES, FAILURE_HINTS, RaydtError
from raydt.results import SPEC_CODES, output_schema
from raydt.results.model import ErrorInfo

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "raydt"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), SRC / "SKILL.md"]


def test_every_error_class_is_walked_and_each_code_has_one_exit_code() -> None:
    defined = {cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, RaydtError)}
    assert set(errors.error_classes()) == defined
    assert set(ERROR_CODES) == {cls.code for cls in defined}
    for cls in defined:  # USAGE has two classes (UsageError, OptionError): one exit code
        assert ERROR_CODES[cls.code] == cls.exit_code, cls
    assert all(re.fullmatch(r"[A-Z][A-Z_]*[A-Z]", code) for code in ERROR_CODES)


def test_the_module_docstring_tree_names_every_class_with_its_code() -> None:
    doc = errors.__doc__ or ""
    for cls in errors.error_classes():
        assert re.search(rf"\b{cls.__name__}\b\s+(exit \d\s+)?{cls.code}\b", doc), cls.__name__


def test_spec_codes_are_the_codes_that_exit_2() -> None:
    assert {"SPEC_INVALID", "SPEC_FILE", "DATA_INVALID", "USAGE"} <= SPEC_CODES
    assert SPEC_CODES == {code for code, exit_code in ERROR_CODES.items() if exit_code == EXIT_SPEC_ERROR}


def test_the_failure_classes_carry_the_failure_hints() -> None:
    codes = [cls.code for cls in FAILURE_CLASSES]
    assert codes == ["NODE_PREEMPTED", "OUT_OF_MEMORY", "WORKER_DIED", "USER_CODE_ERROR"]
    assert FAILURE_HINTS == {cls.code: cls.default_hint for cls in FAILURE_CLASSES}
    assert errors.failure_class(MemoryError("x")) is errors.WorkerOOMError
    assert errors.failure_class(RuntimeError("ActorDiedError: gone")) is errors.WorkerDiedError
    assert errors.failure_class(ValueError("bug")) is errors.UserCodeError
    preempted = RuntimeError("PreemptionError: Training was interrupted by node preemption (preempted_ranks=[1])")
    assert errors.failure_class(preempted) is errors.NodePreemptedError
    assert errors.failure_code(preempted) == "NODE_PREEMPTED"


def test_the_output_schema_enum_of_error_code_is_the_list() -> None:
    code = output_schema()["properties"]["error"]["properties"]["code"]
    assert code["enum"] == list(ERROR_CODES)
    assert code["type"] == "string" and code["description"]


def test_the_model_refuses_a_code_that_is_no_class() -> None:
    for code in ERROR_CODES:
        ErrorInfo.model_validate({"code": code, "message": "m", "hint": "h"})
    with pytest.raises(ValidationError, match="none of raydt's error codes"):
        ErrorInfo.model_validate({"code": "SOMETHING_NEW", "message": "m", "hint": "h"})


def test_every_error_object_raydt_builds_is_a_class_instance() -> None:
    """No error code is a plain string where an error is raised or built: ``code=`` and ``"code": "X"`` literals
    are gone from the source (the classes' own ``code = "X"`` in the errors package are the one place)."""
    plain = re.compile(r"""\bcode\s*=\s*["'][A-Z_]+["']|["']code["']\s*:\s*["'][A-Z_]+["']""")
    found = [
        f"{path.relative_to(SRC)}:{n}: {line.strip()}"
        for path in SRC.rglob("*.py")
        if path.relative_to(SRC).parts[0] != "errors"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if plain.search(line)
    ]
    assert not found, found


def _documented_lists() -> list[tuple[Path, dict[str, int]]]:
    """Each "Stable error codes" paragraph of the docs: code -> the exit code its group says."""
    lists = []
    for path in DOCS:
        if not path.is_file():
            continue
        for paragraph in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
            if not paragraph.lstrip().startswith("Stable error codes"):
                continue
            codes: dict[str, int] = {}
            pending: list[str] = []
            for token in re.finditer(r"`([A-Z][A-Z_]*[A-Z])`|\(exit (\d)", paragraph):
                if token.group(1):
                    pending.append(token.group(1))
                else:
                    codes.update(dict.fromkeys(pending, int(token.group(2))))
                    pending = []
            assert not pending, f"{path}: codes without an exit code: {pending}"
            lists.append((path, codes))
    return lists


def test_the_documented_code_list_is_the_classes() -> None:
    """The docs' list, where they keep one (README's "Stable error codes"; a docs site may generate it instead)."""
    lists = _documented_lists()
    for path, codes in lists:  # a hand-written list, where one is kept (the docs site generates its table)
        assert codes == ERROR_CODES, f"{path}: {sorted(set(codes) ^ set(ERROR_CODES))}"
