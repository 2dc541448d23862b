"""``raydt mcp``: raydt as a Model Context Protocol server, for AI agents that call tools instead of a terminal.

    tools.py    the tool table (``TOOLS``: name, description, argument model, handler) and the handlers, over
                ``raydt.api`` and the CLI's own documents; no MCP SDK
    cli_calls.py  the tools that talk to Ray run the CLI as a subprocess (the server never becomes a driver)
    runs.py     background runs: one ``raydt run SPEC`` subprocess each, one at a time, stopped by pid
    live.py     live progress parsed from a run's live view (its stderr)
    models.py   argument models and the run document: the tools' input and output schemas
    server.py   the MCP SDK glue (stdio, or streamable HTTP on 127.0.0.1) and the resources

Only ``server`` imports the MCP SDK (the ``mcp`` extra); nothing here imports Ray.
"""
