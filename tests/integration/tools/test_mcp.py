"""MCP servers' tools through the gateway: listed, validated, permitted, audited, isolated."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from baton.domain.audit.log import AuditSearch
from baton.domain.messages import ToolCall
from baton.domain.tools import ToolGrant, ToolResult
from baton.testing import InMemoryAuditLog
from baton.tools.gateway import ToolGateway
from baton.tools.mcp import McpManager
from baton.tools.mcp_config import McpServerConfig
from baton.tools.registry import ToolContext, ToolRegistry

HERE = Path(__file__).parent
TENANT = "t1"


def stdio(name: str, script: str, tenant: str = TENANT) -> McpServerConfig:
    return McpServerConfig(
        id=f"{tenant}-{name}",
        tenant_id=tenant,
        name=name,
        transport="stdio",
        command=sys.executable,
        args=(str(HERE / script),),
    )


class World:
    def __init__(self, configs: list[McpServerConfig], start_timeout_s: float) -> None:
        self.configs = configs
        self.audit = InMemoryAuditLog()
        self.manager = McpManager(
            self.load, start_timeout_s=start_timeout_s, call_timeout_s=10, backoff_base_s=0.05
        )
        self.gateway = ToolGateway(ToolRegistry(source=self.manager), self.audit)

    async def load(self, tenant_id: str) -> Sequence[McpServerConfig]:
        return [c for c in self.configs if c.tenant_id == tenant_id]

    async def call(
        self, name: str, arguments: dict[str, Any], grants: Sequence[str] | None = None
    ) -> ToolResult:
        ctx = ToolContext(TENANT, agent_id="a1", grants=[ToolGrant(g) for g in (grants or [name])])
        return await self.gateway.call(ToolCall.from_arguments("c1", name, arguments), ctx)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    w = World([stdio("demo", "mcp_demo_server.py")], start_timeout_s=20)
    yield w
    await w.manager.aclose()


async def test_tools_are_listed_called_validated_permitted_and_audited(world: World) -> None:
    grants = [ToolGrant("mcp.demo.add"), ToolGrant("mcp.demo.echo"), ToolGrant("calculator")]
    definitions = {d.name: d for d in await world.gateway.definitions(grants, TENANT)}
    assert set(definitions) == {"mcp.demo.add", "mcp.demo.echo"}
    assert definitions["mcp.demo.add"].parameters["required"] == ["a", "b"]
    assert definitions["mcp.demo.add"].description == "Add two integers."

    ok = await world.call("mcp.demo.add", {"a": 2, "b": 40})
    assert ok.success and ok.data == {"result": 42}, ok.error
    echoed = await world.call("mcp.demo.echo", {"text": "hi"})
    assert echoed.success and echoed.data == {"result": "hi"}

    invalid = await world.call("mcp.demo.add", {"a": "two", "b": 1})
    assert invalid.error is not None and invalid.error.startswith("invalid_arguments:")
    denied = await world.call("mcp.demo.add", {"a": 1, "b": 1}, grants=["mcp.demo.echo"])
    assert denied.error is not None and denied.error.startswith("not_granted:")
    failed = await world.call("mcp.demo.fail", {})
    assert failed.error is not None and failed.error.startswith("mcp_tool_error:")
    unknown = await world.call("mcp.demo.nope", {})
    assert unknown.error is not None and unknown.error.startswith("unknown_tool:")
    no_server = await world.call("mcp.other.add", {})
    assert no_server.error is not None and no_server.error.startswith("unknown_tool:")

    page = await world.audit.search(TENANT, AuditSearch(newest_first=False))
    entries = [(e.record.entry_type.value, e.payload or {}) for e in page.items]
    assert len(entries) == 14
    assert entries[0] == ("tool_call", entries[0][1])
    assert entries[0][1]["arguments"] == {"a": 2, "b": 40}
    assert entries[1][0] == "tool_result" and entries[1][1]["success"] is True
    codes = [p["error_code"] for t, p in entries if t == "tool_result"]
    assert codes == [
        None,
        None,
        "invalid_arguments",
        "not_granted",
        "mcp_tool_error",
        "unknown_tool",
        "unknown_tool",
    ]


async def test_a_server_that_never_initializes_is_isolated() -> None:
    w = World(
        [stdio("hung", "mcp_hung_server.py"), stdio("demo", "mcp_demo_server.py")],
        start_timeout_s=8,
    )
    try:
        # Start the healthy one first so only the hung one's timeout is measured.
        assert (await w.call("mcp.demo.add", {"a": 1, "b": 1})).success
        loop = asyncio.get_running_loop()
        began = loop.time()
        hung = await w.call("mcp.hung.anything", {})
        assert hung.error is not None and hung.error.startswith("mcp_unavailable:")
        assert "did not start within 8 s" in hung.error
        assert loop.time() - began < 15
        # The healthy server keeps working, and listings leave the hung one out.
        assert (await w.call("mcp.demo.add", {"a": 2, "b": 2})).data == {"result": 4}
        listed = await w.gateway.definitions([ToolGrant("mcp.demo.add")], TENANT)
        assert [d.name for d in listed] == ["mcp.demo.add"]
    finally:
        await w.manager.aclose()


async def test_a_server_that_dies_reports_an_error_and_is_restarted(world: World) -> None:
    assert (await world.call("mcp.demo.add", {"a": 1, "b": 2})).success
    died = await world.call("mcp.demo.die", {})
    assert died.error is not None and died.error.startswith("mcp_unavailable:")
    assert "connection lost" in died.error
    await asyncio.sleep(0.1)  # past the first backoff
    again = await world.call("mcp.demo.add", {"a": 3, "b": 4})
    assert again.success and again.data == {"result": 7}, again.error


async def test_a_server_that_cannot_start_reports_why() -> None:
    config = McpServerConfig(
        id="x", tenant_id=TENANT, name="ghost", transport="stdio", command="/nonexistent/mcp"
    )
    w = World([config], start_timeout_s=5)
    try:
        result = await w.call("mcp.ghost.tool", {})
        assert result.error is not None and result.error.startswith("mcp_unavailable:")
        assert "failed to start" in result.error
        # Within the backoff a second call fails fast, saying when it will retry.
        second = await w.call("mcp.ghost.tool", {})
        assert second.error is not None and "next start in" in second.error
    finally:
        await w.manager.aclose()
