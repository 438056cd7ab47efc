"""The tool gateway: the one pipeline every tool call goes through.

permit (deny by default) → look up → validate (JSON Schema, size and depth caps) →
execute (timeout, output cap) → audit → answer. Every call is answered with a
:class:`ToolResult`, whatever happened, so the conversation stays valid.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from baton.domain.audit.entries import AuditEntryType
from baton.domain.audit.log import AuditEvent, AuditLog
from baton.domain.messages import ToolCall, ToolDefinition, canonical_json
from baton.domain.secrets import SECRET_NAMES as SECRET_KEYS
from baton.domain.tools import ToolGrant, ToolResult
from baton.tools.registry import Tool, ToolContext, ToolError, ToolRegistry
from baton.tools.schema_validator import validator_for

__all__ = ["GatewayLimits", "ToolContext", "ToolGateway", "redact"]

log = logging.getLogger("baton.tools")

REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class GatewayLimits:
    """Caps the gateway applies to every call.

    Attributes:
        max_argument_bytes: Largest arguments object, serialised.
        max_argument_depth: Deepest nesting of objects and arrays in the arguments.
        max_string_chars: Longest string anywhere in the arguments.
        audit_summary_chars: How much of a result's data the audit entry keeps.
    """

    max_argument_bytes: int = 64 * 1024
    max_argument_depth: int = 32
    max_string_chars: int = 64 * 1024
    audit_summary_chars: int = 2048


class _Refused(Exception):
    """A call that ends before or instead of running, with a code and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def redact(value: Any) -> Any:
    """A copy of ``value`` with the values of secret-named keys replaced."""
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if str(k).lower() in SECRET_KEYS else redact(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


class ToolGateway:
    """Runs tool calls for agents: validated, permitted, bounded, audited, always answered."""

    def __init__(
        self, registry: ToolRegistry, audit: AuditLog, limits: GatewayLimits | None = None
    ) -> None:
        self._registry = registry
        self._audit = audit
        self._limits = limits or GatewayLimits()

    async def definitions(
        self, grants: Sequence[ToolGrant], tenant_id: str
    ) -> list[ToolDefinition]:
        """The schemas of the granted tools that exist, for the model's tool list."""
        wanted = {g.name for g in grants}
        # Only MCP grants need servers (a database read and maybe a start): the granted ones.
        tools = await self._registry.granted(tenant_id, wanted)
        return [ToolDefinition(t.name, t.description, dict(t.parameters)) for t in tools]

    async def call(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        """Answer one tool call; never raises for anything the call itself did."""
        started = time.monotonic()
        try:
            await self._record(ctx, AuditEntryType.TOOL_CALL, self._call_payload(call, ctx))
        except Exception:
            log.exception("cannot audit tool call %s (%s); not running it", call.id, call.name)
            return ToolResult(False, error="audit_unavailable: the call could not be recorded")
        data: Any = None
        code: str | None = None
        error: str | None = None
        output_bytes = 0
        try:
            tool = await self._admit(call, ctx)
            data, output_bytes = await self._execute(tool, call, ctx)
        except _Refused as exc:
            code, error = exc.code, str(exc)
        except Exception:
            log.exception("tool call %s (%s) failed inside the gateway", call.id, call.name)
            code, error = "internal_error", "the call could not be completed"
        elapsed_ms = round((time.monotonic() - started) * 1000, 3)
        result = ToolResult(
            success=code is None,
            data=data,
            error=None if code is None else f"{code}: {error}",
            execution_time_ms=elapsed_ms,
        )
        payload = {
            "tool_call_id": call.id,
            "name": call.name,
            "success": result.success,
            "error_code": code,
            "error": error,
            "data": self._summary(data),
            "output_bytes": output_bytes,
            "execution_time_ms": elapsed_ms,
        }
        try:
            await self._record(ctx, AuditEntryType.TOOL_RESULT, payload)
        except Exception:
            log.exception("cannot audit the result of tool call %s (%s)", call.id, call.name)
        return result

    async def _admit(self, call: ToolCall, ctx: ToolContext) -> Tool:
        """The tool to run, once the call is well-formed, permitted and valid."""
        if call.error is not None:
            raise _Refused("invalid_json", call.error)
        # Before the lookup: looking an MCP tool up starts and connects to its server.
        if ctx.grant(call.name) is None:
            raise _Refused("not_granted", f"tool {call.name!r} is not granted to this agent")
        try:
            tool = await self._registry.lookup(ctx.tenant_id, call.name)
        except ToolError as exc:
            raise _Refused(exc.code, str(exc)) from None
        if tool is None:
            raise _Refused("unknown_tool", f"there is no tool named {call.name!r}")
        self._check_shape(call.arguments)
        problems = _validation_errors(canonical_json(dict(tool.parameters)), call.arguments)
        if problems:
            raise _Refused("invalid_arguments", "; ".join(problems))
        return tool

    def _check_shape(self, arguments: dict[str, Any]) -> None:
        limits = self._limits
        size = len(canonical_json(arguments).encode("utf-8"))
        if size > limits.max_argument_bytes:
            raise _Refused(
                "invalid_arguments",
                f"arguments are {size} bytes, over the {limits.max_argument_bytes} byte limit",
            )
        stack: list[tuple[Any, int]] = [(arguments, 1)]
        while stack:
            value, depth = stack.pop()
            if depth > limits.max_argument_depth:
                raise _Refused(
                    "invalid_arguments",
                    f"arguments nest deeper than {limits.max_argument_depth} levels",
                )
            if isinstance(value, str) and len(value) > limits.max_string_chars:
                raise _Refused(
                    "invalid_arguments",
                    f"a string argument is over {limits.max_string_chars} characters",
                )
            children = value.values() if isinstance(value, dict) else value
            if isinstance(value, dict | list):
                stack.extend((child, depth + 1) for child in children)

    async def _execute(self, tool: Tool, call: ToolCall, ctx: ToolContext) -> tuple[Any, int]:
        """Run the tool under its timeout; returns its data and their serialised size."""
        timeout = tool.limits.timeout_s
        remaining = ctx.remaining_s()
        if remaining is not None:
            if remaining <= 0:
                raise _Refused("timeout", "the task's deadline has passed")
            timeout = min(timeout, remaining)
        try:
            async with asyncio.timeout(timeout):
                data = await tool.run(dict(call.arguments), ctx)
        except TimeoutError:
            raise _Refused(
                "timeout", f"tool {tool.name!r} did not finish in {timeout:g} s"
            ) from None
        except ToolError as exc:
            raise _Refused(exc.code, str(exc)) from None
        except Exception as exc:
            log.exception("tool %s crashed on call %s", tool.name, call.id)
            raise _Refused(
                "crashed", f"tool {tool.name!r} failed unexpectedly ({type(exc).__name__})"
            ) from None
        try:
            size = len(json.dumps(data, ensure_ascii=False, default=str).encode("utf-8"))
        except (TypeError, ValueError):
            log.exception("tool %s returned data that is not JSON", tool.name)
            raise _Refused(
                "crashed", f"tool {tool.name!r} returned data that is not JSON"
            ) from None
        if size > tool.limits.max_output_bytes:
            raise _Refused(
                "output_too_large",
                f"tool {tool.name!r} answered {size} bytes, over its "
                f"{tool.limits.max_output_bytes} byte limit",
            )
        return data, size

    def _call_payload(self, call: ToolCall, ctx: ToolContext) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "tool_call_id": call.id,
            "name": call.name,
            "agent_version": ctx.agent_version,
        }
        if call.error is not None:
            # The raw text is unparsable, so it cannot be redacted: only its size is kept.
            payload["invalid_arguments"] = call.error[:500]
            payload["raw_arguments_bytes"] = len(call.raw_arguments.encode("utf-8"))
        else:
            payload["arguments"] = redact(call.arguments)
        return payload

    def _summary(self, data: Any) -> Any:
        """The result data as audited: redacted, and cut to a short JSON text when large."""
        if data is None:
            return None
        text = json.dumps(redact(data), ensure_ascii=False, default=str)
        cap = self._limits.audit_summary_chars
        return json.loads(text) if len(text) <= cap else text[:cap] + "…"

    async def _record(
        self, ctx: ToolContext, entry_type: AuditEntryType, payload: dict[str, Any]
    ) -> None:
        await self._audit.append(
            AuditEvent(
                ctx.tenant_id, entry_type, payload, agent_id=ctx.agent_id, task_id=ctx.task_id
            )
        )


def _validation_errors(schema_json: str, arguments: dict[str, Any], limit: int = 5) -> list[str]:
    errors = sorted(validator_for(schema_json).iter_errors(arguments), key=lambda e: list(e.path))
    messages = []
    for error in errors[:limit]:
        where = "/".join(str(p) for p in error.path) or "(arguments)"
        messages.append(f"{where}: {error.message[:300]}")
    return messages
