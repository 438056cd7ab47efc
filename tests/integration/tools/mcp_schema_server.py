"""A stdio MCP server whose tools declare schemas a hostile tenant could choose."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

app = MCPServer("schemas")


def _text(pattern: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"text": {"type": "string", "pattern": pattern}},
        "required": ["text"],
    }


def _deep(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"inner": schema}}
    return schema


SCHEMAS: dict[str, dict[str, Any]] = {
    # Catastrophic backtracking for Python's re on "a" * 40 + "!"; linear for RE2.
    "evil": _text("^(a+)+$"),
    "backref": _text(r"^(a)\1$"),
    "lookahead": {"type": "object", "patternProperties": {"^(?=x)": {"type": "string"}}},
    "deep": _deep(40),
    "huge": {"type": "object", "description": "x" * 70_000},
}


def _tool(name: str) -> None:
    def run(text: str = "") -> str:
        return text

    app.add_tool(run, name=name, description=f"{name} schema")
    tool = app._tool_manager.get_tool(name)
    assert tool is not None
    tool.parameters = SCHEMAS[name]


for _name in SCHEMAS:
    _tool(_name)


if __name__ == "__main__":
    app.run()
