"""``raydt validate SPEC`` and ``raydt schema input|output``: the spec without Ray."""

from __future__ import annotations

import argparse

from raydt import api
from raydt.cli.table import Command, Outcome, spec_argument
from raydt.errors import EXIT_SUCCESS


def _validate(args: argparse.Namespace) -> Outcome:
    return api.validate_document(args.spec)


def _schema_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=["input", "output"], help="input: the spec; output: the result")


def _schema(args: argparse.Namespace) -> Outcome:
    import json

    return json.dumps(api.schema(args.kind), indent=2) + "\n", EXIT_SUCCESS


COMMANDS = (
    Command(
        "validate",
        "validate SPEC",
        "validate a spec without starting Ray",
        _validate,
        spec_argument,
        about=("check a spec without starting Ray; every problem is listed",),
        examples=("raydt validate examples/train-default.yaml",),
    ),
    Command(
        "schema",
        "schema KIND",
        "print a JSON Schema",
        _schema,
        _schema_arguments,
        about=("print the JSON Schema of the spec (input) or of the result (output)",),
        examples=("raydt schema input",),
    ),
)
