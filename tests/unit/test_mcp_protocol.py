"""``raydt mcp`` with the MCP SDK's own client, over stdio (``python -m raydt mcp`` as a real process) and
streamable HTTP on 127.0.0.1: the parts that start no Ray. The runs themselves: tests/integration/test_mcp_runs.py."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types
from mcp import ClientSession, StdioServerParameters, stdio_client

from tests.conftest import ROOT, assert_seed_output

LR = {"lr": {"type": "loguniform", "min": 1e-4, "max": 1e-1}}
BAD = {"mode": "tune", "config": {"numWorkers": 0}, "tuneConfig": {"numSamples": 0, "searchSpace": LR}}


@asynccontextmanager
async def session(state: Path) -> AsyncIterator[ClientSession]:
    env = {**os.environ, "RAYDT_STATE_DIR": str(state)}  # the whole environment: the tests' Ray settings too
    params = StdioServerParameters(command=sys.executable, args=["-m", "raydt", "mcp"], env=env, cwd=str(ROOT))
    with (state / "server-stderr.log").open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            yield client


def over_stdio(state: Path, body: Callable[[ClientSession], Awaitable[None]]) -> None:
    async def main() -> None:
        async with session(state) as client:
            await body(client)

    anyio.run(main)


def document(result: mcp_types.CallToolResult) -> dict[str, Any]:
    """The structured content, which must also be the text content (clients that read only text see the same)."""
    assert result.structured_content is not None
    text = result.content[0]
    assert isinstance(text, mcp_types.TextContent) and json.loads(text.text) == result.structured_content
    return result.structured_content


def test_tools_resources_and_a_bad_spec_over_stdio(tmp_path: Path) -> None:
    async def body(client: ClientSession) -> None:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == {"validate_spec", "get_schema", "run", "predict", "get_run", "list_runs", "cancel_run",
                              "resume_run", "cluster_status", "submit_job", "job_status", "plan", "doctor",
                              "explain", "report", "continue_run"}  # fmt: skip
        assert "mode" in json.dumps(tools["run"].input_schema) and tools["run"].output_schema is not None

        bad = await client.call_tool("validate_spec", {"spec": BAD})
        assert bad.is_error
        doc = document(bad)
        assert_seed_output(doc)
        assert doc["error"]["code"] == "SPEC_INVALID"
        assert {i["path"] for i in doc["error"]["issues"]} == {"config.numWorkers", "tuneConfig.numSamples"}

        refused = await client.call_tool("run", {"spec": BAD})  # validated first: nothing starts
        assert refused.is_error and document(refused) == doc
        runs = await client.call_tool("list_runs", {})
        assert not runs.is_error and document(runs) == {"runs": []}

        good = await client.call_tool("validate_spec", {"spec": "examples/seed-tune.json"})
        assert not good.is_error and document(good)["valid"] is True
        schema = await client.call_tool("get_schema", {"kind": "output"})
        assert document(schema)["title"] == "raydt result"
        explained = await client.call_tool("explain", {"path": str(ROOT / "tests/fixtures/explain/pickling.log")})
        assert not explained.is_error and document(explained)["causes"][0]["code"] == "PICKLING_ERROR"
        missing = await client.call_tool("get_run", {"runId": "nope"})
        assert missing.is_error and document(missing)["error"]["code"] == "RUN_NOT_FOUND"

        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        assert {"raydt://schema/input", "raydt://skill", "raydt://examples/seed-tune.json"} <= listed
        read = await client.read_resource("raydt://examples/seed-tune.json")
        content = read.contents[0]
        assert isinstance(content, mcp_types.TextResourceContents)
        assert json.loads(content.text) == json.loads((ROOT / "examples/seed-tune.json").read_text())

    over_stdio(tmp_path, body)


def test_streamable_http_on_loopback(tmp_path: Path) -> None:
    import signal
    import socket
    import subprocess
    import time

    from mcp.client.streamable_http import streamable_http_client

    from tests.conftest import free_port

    port = free_port()
    env = {**os.environ, "RAYDT_STATE_DIR": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "raydt", "mcp", "--http", "--port", str(port)],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert server.poll() is None, server.communicate()
                time.sleep(0.1)

        async def main() -> None:
            url = f"http://127.0.0.1:{port}/mcp"
            async with streamable_http_client(url) as (read, write), ClientSession(read, write) as client:
                await client.initialize()
                assert "run" in {t.name for t in (await client.list_tools()).tools}
                bad = await client.call_tool("validate_spec", {"spec": BAD})
                assert bad.is_error and document(bad)["error"]["code"] == "SPEC_INVALID"

        anyio.run(main)
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=20)
    assert server.returncode is not None
