"""Tools: what agents may be granted, and the tenant's MCP servers."""

from __future__ import annotations

from fastapi import APIRouter, Response

from baton.api.deps import Caller, Cursor, Limit, Svc
from baton.api.schemas import McpServerCreate, McpServerPublic, PageOut, ToolPublic

router = APIRouter(prefix="/api")


@router.get("/tools", name="tools.list", response_model=PageOut[ToolPublic])
async def list_tools(caller: Caller, svc: Svc) -> object:
    """Built-in and Python tools, then the tenant's MCP tools as known without connecting.

    A server no granted call has connected to yet is listed as one ``mcp.<server>.*`` entry.
    """
    tools = await svc.tools.tools(caller.tenant_id)
    items = [
        {
            "name": t.name,
            "description": t.description,
            "parameters": dict(t.parameters),
            "kind": t.kind,
            "limits": t.limits.as_json(),
        }
        for t in tools
    ]
    return {"items": items, "next_cursor": None}


@router.post(
    "/mcp-servers", name="mcp_servers.create", status_code=201, response_model=McpServerPublic
)
async def create_mcp_server(body: McpServerCreate, caller: Caller, svc: Svc) -> object:
    """Register an MCP server; its tools become ``mcp.<name>.<tool>``."""
    server = await svc.mcp_servers.create(caller, **body.model_dump())
    return server.public()


@router.get("/mcp-servers", name="mcp_servers.list", response_model=PageOut[McpServerPublic])
async def list_mcp_servers(
    caller: Caller, svc: Svc, limit: Limit = 100, cursor: Cursor = None
) -> object:
    """The tenant's MCP servers."""
    page = await svc.mcp_servers.list(caller, cursor=cursor, limit=limit)
    return {"items": [s.public() for s in page.items], "next_cursor": page.next_cursor}


@router.delete("/mcp-servers/{server_id}", name="mcp_servers.delete", status_code=204)
async def delete_mcp_server(server_id: str, caller: Caller, svc: Svc) -> Response:
    """Remove an MCP server and stop its session."""
    await svc.mcp_servers.delete(caller, server_id)
    return Response(status_code=204)
