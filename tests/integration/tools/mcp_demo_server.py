"""A small stdio MCP server for the tests: arithmetic, echo, and a tool that kills it."""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer

app = MCPServer("demo")


@app.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@app.tool()
def echo(text: str) -> str:
    """Repeat the text."""
    return text


@app.tool()
def fail() -> str:
    """Report an error."""
    raise ValueError("the demo tool failed on purpose")


@app.tool()
def die() -> str:
    """End the server process at once, mid-call."""
    os._exit(3)


if __name__ == "__main__":
    app.run()
