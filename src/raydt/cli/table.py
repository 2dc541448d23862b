"""The command table's row: a ``raydt`` command's name, help, examples, arguments, and the function that does it.

A command module (``cli/<area>.py``) declares ``COMMANDS``, a tuple of rows; ``cli/__init__.py`` lists the
modules once. The parser, ``raydt --help``'s command list and its examples are generated from the rows. A row's
``call`` turns the parsed arguments into an API call (``raydt.api``) and returns what to print and the exit code.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from raydt import results
from raydt.errors import RaydtError, UsageError

#: What a command hands back: a result document (printed as JSON), text printed as it is (YAML, the skill), or
#: None when the command wrote its output itself (a run's result, a followed log); and the exit code.
Outcome = tuple[dict[str, Any] | str | None, int]


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """A command without arguments of its own."""


@dataclass(frozen=True)
class Command:
    name: str
    usage: str  # the synopsis in ``raydt --help``: "run SPEC"
    summary: str  # one line: the subcommand's help
    call: Callable[[argparse.Namespace], Outcome]
    arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
    about: tuple[str, ...] = ()  # more lines under the synopsis in ``raydt --help`` (default: the summary)
    examples: tuple[str, ...] = field(default=())


def failed(err: RaydtError) -> Outcome:
    """A command's error: its document and exit code."""
    return results.error_result(err), err.exit_code


def not_for(command: str, action: str, given: list[str]) -> Outcome | None:
    """The usage error of flags given to an action they do not apply to (None: none)."""
    if not given:
        return None
    return failed(UsageError(f"raydt {command} {action}: {', '.join(given)} does not apply to {action}"))


def spec_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="spec file (.json/.yaml/.yml) or - for stdin")


def quiet_argument(parser: argparse.ArgumentParser, what: str = "no progress on stderr") -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help=what)
