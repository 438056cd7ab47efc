"""The tool gateway: every call answered, permitted by grants only, bounded and audited."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from baton.domain.audit.log import AuditSearch
from baton.domain.messages import ToolCall
from baton.domain.tools import ToolGrant, ToolResult
from baton.testing import InMemoryAuditLog
from baton.tools.builtin import CalculatorTool, CurrentTimeTool, HttpRequestTool
from baton.tools.gateway import GatewayLimits, ToolGateway
from baton.tools.registry import ToolContext, ToolLimits, ToolRegistry

TENANT = "t1"
ANY_OBJECT = {"type": "object"}
PUBLIC_IP = "93.184.216.34"


async def fake_resolver(host: str, port: int) -> Sequence[str]:
    return {"api.example.com": [PUBLIC_IP], "intranet.example.com": ["10.0.0.7"]}[host]


class Harness:
    def __init__(self) -> None:
        self.audit = InMemoryAuditLog()
        self.sent: list[httpx.Request] = []
        self.registry = ToolRegistry(
            [
                CalculatorTool(),
                CurrentTimeTool(),
                HttpRequestTool(resolver=fake_resolver, transport=httpx.MockTransport(self.reply)),
            ]
        )
        self.gateway = ToolGateway(self.registry, self.audit, GatewayLimits())

    def reply(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return httpx.Response(200, json={"ok": True}, headers={"set-cookie": "session=s3cr3t"})

    async def call(self, name: str, arguments: dict[str, Any], *grants: ToolGrant) -> ToolResult:
        ctx = ToolContext(TENANT, agent_id="a1", agent_version=3, task_id="task1", grants=grants)
        return await self.gateway.call(ToolCall.from_arguments("c1", name, arguments), ctx)

    async def entries(self) -> list[tuple[str, dict[str, Any]]]:
        page = await self.audit.search(TENANT, AuditSearch(newest_first=False))
        return [(e.record.entry_type.value, e.payload or {}) for e in page.items]

    async def assert_audited(self, name: str, *, success: bool, code: str | None) -> dict[str, Any]:
        (call_type, call), (result_type, result) = await self.entries()
        assert (call_type, result_type) == ("tool_call", "tool_result")
        assert call["name"] == result["name"] == name
        assert call["tool_call_id"] == result["tool_call_id"] == "c1"
        assert call["agent_version"] == 3
        assert result["success"] is success
        assert result["error_code"] == code
        assert result["execution_time_ms"] >= 0
        page = await self.audit.search(TENANT, AuditSearch())
        assert {(e.record.agent_id, e.record.task_id) for e in page.items} == {("a1", "task1")}
        return result


@pytest.fixture
def h() -> Harness:
    return Harness()


def test_registry_knows_registered_and_well_formed_mcp_names(h: Harness) -> None:
    assert h.registry.knows(TENANT, "calculator")
    assert h.registry.knows(TENANT, "mcp.files.read")
    assert not h.registry.knows(TENANT, "rm_rf")


async def test_a_granted_valid_call_succeeds_and_is_audited(h: Harness) -> None:
    result = await h.call("calculator", {"expression": "6*7"}, ToolGrant("calculator"))
    assert result == ToolResult(True, {"result": 42}, None, result.execution_time_ms)
    audited = await h.assert_audited("calculator", success=True, code=None)
    assert audited["data"] == {"result": 42}
    (_, call), _ = await h.entries()
    assert call["arguments"] == {"expression": "6*7"}


async def test_invalid_arguments_are_refused_before_running(h: Harness) -> None:
    result = await h.call("calculator", {"expr": "1"}, ToolGrant("calculator"))
    assert not result.success
    assert result.error is not None and result.error.startswith("invalid_arguments:")
    assert "expression" in result.error
    await h.assert_audited("calculator", success=False, code="invalid_arguments")


async def test_oversized_and_too_deep_arguments_are_refused(h: Harness) -> None:
    grant = ToolGrant("current_time")
    big = await h.call("current_time", {"timezone": "x" * 70_000}, grant)
    assert big.error is not None and "byte limit" in big.error
    deep: Any = "leaf"
    for _ in range(40):
        deep = [deep]
    nested = await h.call("current_time", {"timezone": deep}, grant)
    assert nested.error is not None and "deeper" in nested.error


async def test_unknown_tool(h: Harness) -> None:
    result = await h.call("teleport", {}, ToolGrant("teleport"))
    assert result.error is not None and result.error.startswith("unknown_tool:")
    await h.assert_audited("teleport", success=False, code="unknown_tool")


async def test_a_tool_not_granted_is_denied(h: Harness) -> None:
    result = await h.call("calculator", {"expression": "1"}, ToolGrant("current_time"))
    assert result.error is not None and result.error.startswith("not_granted:")
    await h.assert_audited("calculator", success=False, code="not_granted")


async def test_invalid_json_from_the_model_is_answered_and_not_logged_raw(h: Harness) -> None:
    call = ToolCall.from_raw("c1", "calculator", '{"expression": "1", "password": "hunter2"')
    assert call.error is not None
    ctx = ToolContext(TENANT, agent_id="a1", agent_version=3, task_id="task1")
    result = await h.gateway.call(call, ctx)
    assert result.error is not None and result.error.startswith("invalid_json:")
    await h.assert_audited("calculator", success=False, code="invalid_json")
    assert "hunter2" not in repr(await h.entries())


async def test_http_to_a_granted_host_connects_to_the_pinned_ip(h: Harness) -> None:
    grant = ToolGrant("http_request", {"hosts": ["api.example.com"]})
    args = {
        "method": "GET",
        "url": "https://api.example.com/v1/items?q=1",
        "headers": {"Authorization": "Bearer sk-secret", "Accept": "application/json"},
    }
    result = await h.call("http_request", args, grant)
    assert result.success, result.error
    assert result.data["status"] == 200 and result.data["body"] == '{"ok":true}'
    (request,) = h.sent
    assert request.url.host == PUBLIC_IP and request.url.path == "/v1/items"
    assert request.headers["host"] == "api.example.com"
    assert request.extensions["sni_hostname"] == "api.example.com"
    # Secrets reach the server but never the audit log.
    assert request.headers["authorization"] == "Bearer sk-secret"
    entries = repr(await h.entries())
    assert "sk-secret" not in entries and "s3cr3t" not in entries
    (_, call), _ = await h.entries()
    assert call["arguments"]["headers"] == {
        "Authorization": "[redacted]",
        "Accept": "application/json",
    }


@pytest.mark.parametrize(
    "header", ["Token", "Access-Token", "PRIVATE-TOKEN", "x-goog-api-key", "X-Api-Key"]
)
async def test_token_headers_are_redacted_in_the_audit_log(h: Harness, header: str) -> None:
    grant = ToolGrant("http_request", {"hosts": ["api.example.com"]})
    args = {
        "method": "GET",
        "url": "https://api.example.com/v1/items",
        "headers": {header: "tok-s3cret-value", "Accept": "application/json"},
    }
    result = await h.call("http_request", args, grant)
    assert result.success, result.error
    assert h.sent[0].headers[header] == "tok-s3cret-value"
    assert "tok-s3cret-value" not in repr(await h.entries())
    (_, call), _ = await h.entries()
    assert call["arguments"]["headers"] == {header: "[redacted]", "Accept": "application/json"}


async def test_http_to_another_host_is_denied(h: Harness) -> None:
    grant = ToolGrant("http_request", {"hosts": ["api.example.com"]})
    result = await h.call("http_request", {"method": "GET", "url": "https://evil.test/"}, grant)
    assert result.error is not None and result.error.startswith("host_not_granted:")
    assert h.sent == []
    await h.assert_audited("http_request", success=False, code="host_not_granted")


async def test_http_without_host_grants_is_denied(h: Harness) -> None:
    result = await h.call(
        "http_request",
        {"method": "GET", "url": "https://api.example.com/"},
        ToolGrant("http_request"),
    )
    assert result.error is not None and result.error.startswith("host_not_granted:")
    assert h.sent == []


async def test_http_to_a_private_address_is_refused(h: Harness) -> None:
    grant = ToolGrant("http_request", {"hosts": ["intranet.example.com"]})
    args = {"method": "GET", "url": "http://intranet.example.com/admin"}
    result = await h.call("http_request", args, grant)
    assert result.error is not None and result.error.startswith("forbidden_address:")
    assert h.sent == []
    await h.assert_audited("http_request", success=False, code="forbidden_address")


async def test_a_slow_tool_times_out(h: Harness) -> None:
    @h.registry.function("slow", "sleeps", ANY_OBJECT, limits=ToolLimits(timeout_s=0.05))
    async def slow(arguments: dict[str, Any], ctx: ToolContext) -> str:
        await asyncio.sleep(30)
        return "never"

    result = await h.call("slow", {}, ToolGrant("slow"))
    assert result.error is not None and result.error.startswith("timeout:")
    await h.assert_audited("slow", success=False, code="timeout")


async def test_a_passed_deadline_is_a_timeout_without_running(h: Harness) -> None:
    ran: list[bool] = []

    @h.registry.function("quick", "runs", ANY_OBJECT)
    async def quick(arguments: dict[str, Any], ctx: ToolContext) -> str:
        ran.append(True)
        return "ok"

    ctx = ToolContext(TENANT, grants=[ToolGrant("quick")], deadline=0.0)
    result = await h.gateway.call(ToolCall.from_arguments("c1", "quick", {}), ctx)
    assert result.error is not None and result.error.startswith("timeout:") and not ran


async def test_a_crashing_tool_is_an_error_result_without_its_trace(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    @h.registry.function("crash", "raises", ANY_OBJECT)
    async def crash(arguments: dict[str, Any], ctx: ToolContext) -> str:
        raise RuntimeError("internal detail db=postgres://u:pw@host")

    result = await h.call("crash", {}, ToolGrant("crash"))
    assert result.error is not None and result.error.startswith("crashed:")
    assert "RuntimeError" in result.error and "pw@host" not in result.error
    assert "Traceback" not in result.error
    await h.assert_audited("crash", success=False, code="crashed")
    assert any("crash" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_oversized_output_is_an_error_result(h: Harness) -> None:
    @h.registry.function("big", "talks", ANY_OBJECT, limits=ToolLimits(max_output_bytes=1000))
    async def big(arguments: dict[str, Any], ctx: ToolContext) -> str:
        return "x" * 5000

    result = await h.call("big", {}, ToolGrant("big"))
    assert result.error is not None and result.error.startswith("output_too_large:")
    assert result.data is None
    audited = await h.assert_audited("big", success=False, code="output_too_large")
    assert audited["data"] is None


async def test_definitions_list_only_granted_existing_tools(h: Harness) -> None:
    grants = [ToolGrant("calculator"), ToolGrant("http_request"), ToolGrant("nonexistent")]
    definitions = await h.gateway.definitions(grants, TENANT)
    assert [d.name for d in definitions] == ["calculator", "http_request"]
    assert definitions[0].parameters["required"] == ["expression"]
    assert await h.gateway.definitions([], TENANT) == []


async def test_parallel_calls_run_concurrently(h: Harness) -> None:
    started = {"a": asyncio.Event(), "b": asyncio.Event()}

    def make(me: str, other: str) -> None:
        @h.registry.function(me, "waits for the other", ANY_OBJECT, limits=ToolLimits(timeout_s=5))
        async def tool(arguments: dict[str, Any], ctx: ToolContext) -> str:
            started[me].set()
            # Finishes only once the other call has started: both must be in flight at once.
            await started[other].wait()
            return me

    make("a", "b")
    make("b", "a")
    ctx = ToolContext(TENANT, grants=[ToolGrant("a"), ToolGrant("b")])
    results = await asyncio.gather(
        h.gateway.call(ToolCall.from_arguments("1", "a", {}), ctx),
        h.gateway.call(ToolCall.from_arguments("2", "b", {}), ctx),
    )
    assert [r.data for r in results] == ["a", "b"]


async def test_a_failing_audit_log_stops_the_call(h: Harness) -> None:
    ran: list[bool] = []

    @h.registry.function("effect", "has a side effect", ANY_OBJECT)
    async def effect(arguments: dict[str, Any], ctx: ToolContext) -> str:
        ran.append(True)
        return "done"

    async def broken(event: object) -> None:
        raise OSError("database is down")

    h.audit.append = broken  # type: ignore[method-assign,assignment]
    result = await h.call("effect", {}, ToolGrant("effect"))
    assert result.error is not None and result.error.startswith("audit_unavailable:")
    assert not ran


async def test_current_time_in_a_zone_and_a_bad_zone(h: Harness) -> None:
    grant = ToolGrant("current_time")
    paris = await h.call("current_time", {"timezone": "Europe/Paris"}, grant)
    assert paris.success and paris.data["iso"][-6:] in ("+01:00", "+02:00")
    utc = await h.call("current_time", {}, grant)
    assert utc.data["iso"].endswith("+00:00")
    bad = await h.call("current_time", {"timezone": "Mars/Olympus"}, grant)
    assert bad.error is not None and bad.error.startswith("invalid_timezone:")


def test_registry_refuses_bad_names_and_schemas(h: Harness) -> None:
    with pytest.raises(ValueError, match="already registered"):
        h.registry.register(CalculatorTool())
    with pytest.raises(ValueError, match="invalid tool name"):
        h.registry.function("mcp.x.y", "reserved", ANY_OBJECT)(_noop)
    with pytest.raises(ValueError, match="object"):
        h.registry.function("scalar", "bad", {"type": "string"})(_noop)
    with pytest.raises(ValueError, match="invalid schema"):
        h.registry.function("broken", "bad", {"type": 12})(_noop)


async def _noop(arguments: dict[str, Any], ctx: ToolContext) -> None:
    return None
