"""``raydt mcp`` (the MCP server for agents) and ``raydt skill`` (the agent skill file)."""

from __future__ import annotations

import argparse

from raydt.cli.table import Command, Outcome, failed
from raydt.errors import EXIT_SUCCESS, MissingDependencyError


def _mcp_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--http", action="store_true", help="streamable HTTP at http://127.0.0.1:PORT/mcp, not stdio")
    parser.add_argument("--port", type=int, default=8765, help="--http: the port (default 8765)")


def _mcp(args: argparse.Namespace) -> Outcome:
    try:
        from raydt.mcp import server
    except ImportError as exc:
        return failed(
            MissingDependencyError(
                f"raydt mcp needs the MCP Python SDK, which cannot be imported ({exc})",
                hint="pip install 'ray-distributed-trainer[mcp]'",
            )
        )
    server.serve(http=args.http, port=args.port)
    return None, EXIT_SUCCESS


def _skill(args: argparse.Namespace) -> Outcome:
    from importlib import resources

    return resources.files("raydt").joinpath("SKILL.md").read_text(encoding="utf-8"), EXIT_SUCCESS


COMMANDS = (
    Command(
        "mcp",
        "mcp",
        "serve raydt's tools to AI agents over the Model Context Protocol (stdio)",
        _mcp,
        _mcp_arguments,
        about=(
            "serve raydt to AI agents over the Model Context Protocol: stdio, or --http --port P",
            "(127.0.0.1); tools validate_spec, run (background, a runId), get_run, cancel_run, ...",
        ),
    ),
    Command(
        "skill",
        "skill",
        "print raydt's agent skill (SKILL.md): what it does, its schemas, examples",
        _skill,
        about=("print raydt's agent skill file (SKILL.md)",),
    ),
)
