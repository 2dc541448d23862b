"""trainerPath: parsed and checked without running the file; loaded for a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from raydt import trainer_ref
from raydt.errors import SpecIssue, UserCodeError

FIX = Path(__file__).resolve().parent.parent / "fixtures"


def test_static_check_does_not_execute_the_file() -> None:
    ref = trainer_ref.parse(f"{FIX}/broken_import.py:train")
    assert isinstance(ref, trainer_ref.TrainerRef)
    assert trainer_ref.check(ref, str(ref)) is None  # the module raises at import, but check never imports it


def test_load_reports_import_time_errors_as_user_code_errors() -> None:
    ref = trainer_ref.parse(f"{FIX}/broken_import.py:train")
    assert isinstance(ref, trainer_ref.TrainerRef)
    with pytest.raises(UserCodeError, match="RuntimeError: this module is broken at import time"):
        trainer_ref.load(ref)


def test_load_rejects_two_argument_function_bound_by_assignment() -> None:
    ref = trainer_ref.parse(f"{FIX}/bad_signature.py:helper")
    assert isinstance(ref, trainer_ref.TrainerRef)
    assert trainer_ref.check(ref, str(ref)) is None  # an assignment: only checkable when loaded
    with pytest.raises(UserCodeError, match="one argument"):
        trainer_ref.load(ref)


def test_syntax_error_is_reported_with_line(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def train(config):\n    return (\n")
    ref = trainer_ref.parse(f"{tmp_path}/bad.py:train")
    assert isinstance(ref, trainer_ref.TrainerRef)
    issue = trainer_ref.check(ref, "bad.py:train")
    assert isinstance(issue, SpecIssue) and "syntax error at line" in issue.rule


@pytest.mark.parametrize("value", ["nofunction", ":f", "file.py:", "file.py:not-an-id"])
def test_malformed_references(value: str) -> None:
    assert isinstance(trainer_ref.parse(value), SpecIssue)


def test_module_reference_loads_a_real_function() -> None:
    ref = trainer_ref.parse("raydt.frameworks.pytorch.trainer:train_loop")
    assert isinstance(ref, trainer_ref.TrainerRef) and not ref.is_file
    assert trainer_ref.check(ref, str(ref)) is None
    assert trainer_ref.load(ref).__name__ == "train_loop"
