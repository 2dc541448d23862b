"""The ``raydt`` command: one JSON document on stdout, progress on stderr.

Every command is a row of the table (``cli/table.py``) declared in its area's module; the parser and
``raydt --help`` are generated from the rows. Exit codes: 0 success, 3 partial, 1 error while running,
2 invalid spec or usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn, TextIO

from raydt import results
from raydt.cli import agents, cluster, diagnose, jobs, k8s, plan, report, run, serve, spec
from raydt.cli.table import Command
from raydt.errors import EXIT_SUCCESS, UsageError

#: The table, in the order ``raydt --help`` lists it.
COMMANDS: tuple[Command, ...] = (
    *run.COMMANDS[:1], *serve.COMMANDS, *run.COMMANDS[1:2], *spec.COMMANDS, *plan.COMMANDS, *run.COMMANDS[2:],
    *cluster.COMMANDS, *jobs.COMMANDS,
    *report.COMMANDS, *diagnose.COMMANDS, *k8s.COMMANDS, *agents.COMMANDS,
)  # fmt: skip
BY_NAME = {command.name: command for command in COMMANDS}

_CLOSING = """
SPEC is a .json, .yaml or .yml file, or - for stdin. Exit codes: 0 success, 3 partial,
1 error while running, 2 invalid spec or usage.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _commands_help() -> str:
    """The command list of ``raydt --help``, from the table: synopsis, what it does, examples."""
    lines = ["commands:"]
    for command in COMMANDS:
        about = command.about or (command.summary,)
        lines.append(f"  {command.usage:<17} {about[0]}")
        lines += [f"  {'':<17} {line}" for line in about[1:]]
        lines += [f"  {'':<19}{example}" for example in command.examples]
    return "\n".join(lines) + "\n" + _CLOSING


def _registries() -> str:
    from raydt.registry import FRAMEWORKS, SCHEDULERS, SEARCHERS

    lines = ["", "what a spec can name (registries):"]
    for title, table in (("frameworks", FRAMEWORKS), ("schedulers", SCHEDULERS), ("searchers", SEARCHERS)):
        lines.append(f"  {title}:")
        lines += [f"    {name:<11} {info.description}" for name, info in table.items()]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="raydt",
        description="One declarative spec in, distributed training, tuning and cluster status on Ray out.",
        epilog=_commands_help() + _registries(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.arguments(sub.add_parser(command.name, help=command.summary))
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``raydt`` command (``raydt.__main__`` hands a run to a lasting cluster's warm runner first)."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as err:
        return emit(results.error_result(err), err.exit_code, sys.stdout)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if args.version:
        from raydt import __version__

        print(__version__)
        return EXIT_SUCCESS
    if args.command is None:
        build_parser().print_help(sys.stderr)
        return emit(results.error_result(UsageError("no command given")), 2, sys.stdout)
    out, code = BY_NAME[args.command].call(args)
    if isinstance(out, str):  # YAML, a schema, the skill: printed as it is
        sys.stdout.write(out)
        sys.stdout.flush()
        return code
    return code if out is None else emit(out, code, sys.stdout)


def emit(result: dict[str, Any], code: int, stream: TextIO) -> int:
    """Print one result document, checked against the result model (a document it refuses is printed as
    the INTERNAL error ``results.finalize`` makes of it, with that error's exit code)."""
    doc, code = results.finalize_with_code(result, code)
    stream.write(json.dumps(doc, indent=2, default=str) + "\n")
    stream.flush()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
