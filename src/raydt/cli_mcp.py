"""``raydt mcp`` (the MCP server for agents) and ``raydt skill`` (the agent skill file): their command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from raydt import results
from raydt.errors import MissingDependencyError, RaydtError


def add_parser(sub: Any) -> None:
    mcp = sub.add_parser("mcp", help="serve raydt's tools to AI agents over the Model Context Protocol (stdio)")
    mcp.add_argument("--http", action="store_true", help="streamable HTTP at http://127.0.0.1:PORT/mcp, not stdio")
    mcp.add_argument("--port", type=int, default=8765, help="--http: the port (default 8765)")
    sub.add_parser("skill", help="print raydt's agent skill (SKILL.md): what it does, its schemas, examples")


def command(args: argparse.Namespace, schema: Callable[[str], dict[str, Any]]) -> tuple[dict[str, Any], int] | None:
    """Run ``mcp`` or ``skill``: None when done, else (error document, exit code). ``schema``: ``raydt schema``'s
    documents, which the server's get_schema and resources print."""
    if args.command == "skill":
        from importlib import resources

        sys.stdout.write(resources.files("raydt").joinpath("SKILL.md").read_text(encoding="utf-8"))
        return None
    try:
        try:
            from raydt.mcp import server
        except ImportError as exc:
            raise MissingDependencyError(
                f"raydt mcp needs the MCP Python SDK, which cannot be imported ({exc})",
                hint="pip install 'ray-distributed-trainer[mcp]'",
            ) from None
    except RaydtError as err:
        return results.error_result(err), err.exit_code
    server.serve(schema, http=args.http, port=args.port)
    return None
