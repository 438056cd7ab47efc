"""Built-in tools for real: http_request against a local server, python in the sandbox,
and the gateway writing its entries to the database-backed audit log."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from baton.domain.audit import CheckpointSigner
from baton.domain.audit.log import AuditLog, AuditSearch
from baton.domain.messages import ToolCall
from baton.domain.tools import ToolGrant, ToolResult
from baton.services.audit import AuditService
from baton.store.database import Database
from baton.testing import InMemoryAuditLog
from baton.tools.builtin import HttpLimits, builtin_tools
from baton.tools.gateway import ToolGateway
from baton.tools.registry import ToolContext, ToolRegistry
from baton.tools.sandbox import BubblewrapSandbox
from tests.integration.sandbox.support import needs_bwrap


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/hello":
            self._send(200, f"hello {self.headers['Host']}".encode())
        elif self.path == "/big":
            self._send(200, b"x" * 10_000)
        elif self.path == "/hop":
            self._redirect("/hello")
        elif self.path == "/away":
            self._redirect("http://example.com/")
        elif self.path.startswith("/to/"):
            self._redirect(f"http://127.0.0.1:{self.path.split('/')[2]}/echo")
        elif self.path == "/echo":
            self._send(200, json.dumps({k.lower(): v for k, v in self.headers.items()}).encode())
        else:
            self._send(404, b"no")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._send(201, b"got " + body)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def gateway(audit: AuditLog | None = None, *, operator_allows_private: bool = True) -> ToolGateway:
    tools = builtin_tools(
        sandbox=BubblewrapSandbox(),
        http=HttpLimits(max_response_bytes=1000),
        http_allow_private=operator_allows_private,  # BATON_HTTP_TOOL_ALLOW_PRIVATE
    )
    return ToolGateway(ToolRegistry(tools), audit or InMemoryAuditLog())


async def http(
    port: int,
    args: dict[str, Any],
    *,
    allow_private: bool = True,
    operator_allows_private: bool = True,
    approved: bool = False,
) -> ToolResult:
    grants: dict[str, Any] = {
        "hosts": [{"host": f"127.0.0.1:{port}", "allow_private": allow_private}]
    }
    if approved:
        grants["private_approved"] = True  # as a superadmin's save records it
    ctx = ToolContext("t1", grants=[ToolGrant("http_request", grants)])
    call = ToolCall.from_arguments("c1", "http_request", args)
    return await gateway(operator_allows_private=operator_allows_private).call(call, ctx)


async def test_get_and_post_reach_the_local_server(server_port: int) -> None:
    got = await http(server_port, {"method": "GET", "url": f"http://127.0.0.1:{server_port}/hello"})
    assert got.success, got.error
    assert got.data["status"] == 200
    assert got.data["body"] == f"hello 127.0.0.1:{server_port}"
    assert got.data["truncated"] is False
    posted = await http(
        server_port,
        {"method": "POST", "url": f"http://127.0.0.1:{server_port}/p", "body": "data"},
    )
    assert posted.data["status"] == 201 and posted.data["body"] == "got data"


async def test_the_size_cap_truncates(server_port: int) -> None:
    got = await http(server_port, {"method": "GET", "url": f"http://127.0.0.1:{server_port}/big"})
    assert got.success
    assert got.data["body"] == "x" * 1000 and got.data["truncated"] is True


async def test_redirects_are_followed_and_rechecked(server_port: int) -> None:
    hop = await http(server_port, {"method": "GET", "url": f"http://127.0.0.1:{server_port}/hop"})
    assert hop.success and hop.data["body"].startswith("hello") and hop.data["redirects"] == 1
    away = await http(server_port, {"method": "GET", "url": f"http://127.0.0.1:{server_port}/away"})
    assert away.error is not None and away.error.startswith("host_not_granted:")
    assert "example.com" in away.error


async def test_a_private_address_needs_allow_private(server_port: int) -> None:
    url = f"http://127.0.0.1:{server_port}/hello"
    refused = await http(server_port, {"method": "GET", "url": url}, allow_private=False)
    assert refused.error is not None and refused.error.startswith("forbidden_address:")


async def test_allow_private_needs_the_operator_setting_or_a_superadmin_at_call_time(
    server_port: int,
) -> None:
    # A version stored before private grants were checked on save: allow_private, no
    # superadmin approval recorded. Without BATON_HTTP_TOOL_ALLOW_PRIVATE it is refused.
    url = f"http://127.0.0.1:{server_port}/hello"
    args = {"method": "GET", "url": url}
    refused = await http(server_port, args, operator_allows_private=False)
    assert refused.error is not None and refused.error.startswith("forbidden_address:")
    assert "BATON_HTTP_TOOL_ALLOW_PRIVATE" in refused.error
    approved = await http(server_port, args, operator_allows_private=False, approved=True)
    assert approved.success and approved.data["body"].startswith("hello"), approved.error
    allowed = await http(server_port, args, operator_allows_private=True)
    assert allowed.success and allowed.data["status"] == 200, allowed.error


@needs_bwrap
async def test_python_runs_in_the_sandbox() -> None:
    ctx = ToolContext("t1", grants=[ToolGrant("python")])
    call = ToolCall.from_arguments("c1", "python", {"code": "print(6 * 7)"})
    result = await gateway().call(call, ctx)
    assert result.success, result.error
    assert result.data == {
        "stdout": "42\n",
        "stderr": "",
        "exit_code": 0,
        "timed_out": False,
        "truncated": False,
    }


async def test_the_gateway_writes_to_the_database_audit_log(database: Database) -> None:
    audit = AuditService(database, CheckpointSigner.generate())
    tenant = "tenant-tools"
    ctx = ToolContext(tenant, agent_id="agent-1", agent_version=2, grants=[ToolGrant("calculator")])
    ok = await gateway(audit).call(
        ToolCall.from_arguments("c1", "calculator", {"expression": "1+1"}), ctx
    )
    denied = await gateway(audit).call(ToolCall.from_arguments("c2", "python", {"code": "1"}), ctx)
    assert ok.data == {"result": 2} and denied.error is not None
    page = await audit.search(tenant, AuditSearch(newest_first=False))
    entries = [(e.record.entry_type.value, e.record.agent_id, e.payload) for e in page.items]
    tool_entries = [e for e in entries if e[0].startswith("tool_")]
    assert [(t, a) for t, a, _ in tool_entries] == [
        ("tool_call", "agent-1"),
        ("tool_result", "agent-1"),
    ] * 2
    assert tool_entries[1][2] is not None and tool_entries[1][2]["data"] == {"result": 2}
    assert tool_entries[3][2] is not None and tool_entries[3][2]["error_code"] == "not_granted"
    assert (await audit.verify(tenant)).valid


@pytest.fixture
def other_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


async def test_secret_headers_do_not_follow_a_redirect_to_another_origin(
    server_port: int, other_port: int
) -> None:
    hosts = [f"127.0.0.1:{p}" for p in (server_port, other_port)]
    grants = {"hosts": [{"host": h, "allow_private": True} for h in hosts]}
    ctx = ToolContext("t1", grants=[ToolGrant("http_request", grants)])
    secrets = {"X-Goog-Api-Key": "g", "Private-Token": "p", "Authorization": "Bearer a"}
    args = {
        "method": "GET",
        "url": f"http://127.0.0.1:{server_port}/to/{other_port}",
        "headers": {**secrets, "X-Trace": "kept"},
    }
    got = await gateway().call(ToolCall.from_arguments("c1", "http_request", args), ctx)
    assert got.success, got.error
    received = json.loads(got.data["body"])
    assert received["x-trace"] == "kept"
    assert not {k.lower() for k in secrets} & set(received), received
    # Within one origin the headers stay.
    same = {**args, "url": f"http://127.0.0.1:{other_port}/echo"}
    direct = await gateway().call(ToolCall.from_arguments("c2", "http_request", same), ctx)
    assert json.loads(direct.data["body"])["private-token"] == "p"
