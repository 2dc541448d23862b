"""The MCP server (official MCP Python SDK, low-level ``Server``): the tools of ``raydt.mcp.tools``, the examples
and the schemas as resources, over stdio or streamable HTTP on 127.0.0.1.

A tool call runs in a worker thread (a CLI subprocess may take seconds), so the server keeps answering; on exit
(stdin closed, SIGTERM, SIGINT) it stops the runs it started, by pid.
"""

from __future__ import annotations

import json
import os
import signal
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.stdio import stdio_server

from raydt import __version__
from raydt.mcp import live, models
from raydt.mcp.tools import TOOLS, Toolbox
from raydt.results import output_schema

#: at most this many of the lines written between two polls are sent (the newest)
NOTIFY_LINES = 20

INSTRUCTIONS = (
    "raydt turns one JSON spec into Ray Train / Tune runs and returns one JSON result. Validate a spec with "
    "validate_spec, start it with run (returns a runId at once), poll get_run until state is not running, read "
    "`result`. One run at a time. Resources: raydt://schema/input, raydt://schema/output, raydt://skill and "
    "the example specs raydt://examples/NAME."
)


def examples_dir() -> Path | None:
    """The repository's ``examples/`` (a source checkout), if there is one."""
    folder = Path(__file__).resolve().parents[3] / "examples"
    return folder if folder.is_dir() else None


def resource_table() -> dict[str, tuple[str, str, str]]:
    """uri -> (name, mime type, description)."""
    table = {
        "raydt://schema/input": ("input-schema", "application/json", "The spec's JSON Schema (raydt schema input)."),
        "raydt://schema/output": ("output-schema", "application/json", "The result's JSON Schema."),
        "raydt://skill": ("skill", "text/markdown", "The raydt agent skill (raydt skill): usage and examples."),
    }
    folder = examples_dir()
    files = sorted(folder.rglob("*")) if folder is not None else []
    base = len(folder.as_posix()) + 1 if folder is not None else 0
    for path in files:
        mime = _MIME.get(path.suffix)
        if mime and path.is_file():
            name = path.as_posix()[base:]
            what = "Code an example spec names" if path.suffix == ".py" else "Example spec"
            table[f"raydt://examples/{name}"] = (name, mime, f"{what}: examples/{name}.")
    return table


_MIME = {".json": "application/json", ".yaml": "application/yaml", ".yml": "application/yaml", ".py": "text/x-python"}


def read_resource_text(box: Toolbox, uri: str) -> str:
    if uri in ("raydt://schema/input", "raydt://schema/output"):
        return json.dumps(box.schema(uri.rsplit("/", 1)[1]), indent=2)
    if uri == "raydt://skill":
        return skill_text()
    folder = examples_dir()
    if uri in resource_table() and folder is not None:  # only the files listed: no path escapes the folder
        return (folder / uri.removeprefix("raydt://examples/")).read_text(encoding="utf-8")
    raise ValueError(f"unknown resource {uri!r}; resources/list names them")


def skill_text() -> str:
    return resources.files("raydt").joinpath("SKILL.md").read_text(encoding="utf-8")


def tool_list(box: Toolbox) -> list[types.Tool]:
    spec_schema = box.schema("input")
    outputs = {"result": models.top_level(output_schema(), describe=False), "run": models.run_document_schema()}
    return [
        types.Tool(
            name=tool.name,
            description=tool.description,
            input_schema=models.args_schema(tool.args, spec_schema if tool.takes_spec else None),
            output_schema=outputs.get(tool.output or ""),
        )
        for tool in TOOLS.values()
    ]


def build(box: Toolbox) -> Server[Any]:
    tools = tool_list(box)

    async def list_tools(ctx: ServerRequestContext[Any], params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        doc, is_error = await anyio.to_thread.run_sync(box.call, params.name, params.arguments)
        if params.name == "get_run" and not is_error and doc.get("state") == "running":
            doc, is_error = await _wait(ctx, box, params.arguments or {}, doc)
        text = types.TextContent(type="text", text=json.dumps(doc, indent=2, default=str))
        return types.CallToolResult(content=[text], structured_content=doc, is_error=is_error)

    async def list_resources(ctx: ServerRequestContext[Any], params: Any) -> types.ListResourcesResult:
        found = [
            types.Resource(uri=uri, name=name, mime_type=mime, description=text)
            for uri, (name, mime, text) in resource_table().items()
        ]
        return types.ListResourcesResult(resources=found)

    async def read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        mime = resource_table().get(uri, ("", "text/plain", ""))[1]
        contents = types.TextResourceContents(uri=uri, mime_type=mime, text=read_resource_text(box, uri))
        return types.ReadResourceResult(contents=[contents])

    return Server(
        "raydt",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )


async def _wait(
    ctx: ServerRequestContext[Any], box: Toolbox, arguments: dict[str, Any], doc: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """get_run with waitS: poll once a second until the run ends or the time is up, telling the client as
    progress notifications (progress: trials done, else seconds elapsed; message: the live view's last line at
    first, then every line written since - a sampled last line would miss events between two polls)."""
    deadline = anyio.current_time() + float(arguments.get("waitS") or 0)
    log = Path(doc["stderrLog"])
    _, offset = live.tail(log, 0)
    lines: list[str] = []
    is_error = False
    while True:
        progress = doc.get("progress", {})
        done = progress.get("trialsDone")
        for line in lines[-NOTIFY_LINES:] or [progress.get("lastLine")]:  # nothing new: the last line again
            await ctx.session.report_progress(float(done if done is not None else doc["elapsedS"]), None, line)
        if doc.get("state") != "running" or anyio.current_time() >= deadline:
            return doc, is_error
        await anyio.sleep(min(1.0, max(0.0, deadline - anyio.current_time())))
        doc, is_error = await anyio.to_thread.run_sync(box.call, "get_run", arguments)
        lines, offset = live.tail(log, offset)


def serve(*, http: bool = False, port: int = 8765, host: str = "127.0.0.1") -> int:
    """Serve until the client goes (stdio: stdin closed) or a signal; stop this server's runs on the way out."""
    box = Toolbox()
    server = build(box)

    # An MCP client closes stdin, then sends SIGTERM 2 s later and SIGKILL 2 s after that (the SDK's policy):
    # each step gives the runs a bounded grace (SIGINT first), then stops them by pid before this process goes.
    def stop(signum: int, frame: Any) -> None:
        box.registry.shutdown(grace_s=1.2)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        if http:
            import uvicorn

            app = server.streamable_http_app(host=host)
            uvicorn.run(app, host=host, port=port, log_level="warning")
        else:
            anyio.run(_stdio, server)
    except KeyboardInterrupt:
        pass
    finally:
        box.registry.shutdown(grace_s=1.5)
    return 0


async def _stdio(server: Server[Any]) -> None:
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
