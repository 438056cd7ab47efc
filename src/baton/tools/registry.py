"""The tool registry: every tool an agent may call, behind one small interface.

Built-in and user Python tools are registered once at start-up; tools of MCP servers come
from a :class:`ToolSource` per tenant (their servers are configured at run time). The
gateway looks tools up here; the agent registry asks :meth:`ToolRegistry.knows` when it
validates an agent's ``tools`` list.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from baton.domain.tools import TOOL_NAME_MAX, ToolGrant
from baton.tools.schema_validator import SchemaError, check_schema

__all__ = [
    "MCP_PREFIX",
    "FunctionTool",
    "Tool",
    "ToolContext",
    "ToolDenied",
    "ToolError",
    "ToolKind",
    "ToolLimits",
    "ToolRegistry",
    "ToolSource",
]

ToolKind = Literal["builtin", "python", "mcp"]
MCP_PREFIX = "mcp."
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_MCP_NAME = re.compile(r"^mcp\.[a-z0-9][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class ToolError(Exception):
    """An expected failure a tool reports to the model (its message is shown as is).

    Attributes:
        code: A stable machine-readable reason, recorded in the audit log.
    """

    def __init__(self, message: str, *, code: str = "tool_error") -> None:
        super().__init__(message)
        self.code = code


class ToolDenied(ToolError):
    """The call is outside what the agent version was granted (e.g. an ungranted host)."""

    def __init__(self, message: str, *, code: str = "denied") -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True, slots=True)
class ToolLimits:
    """How long a tool may run and how much it may answer.

    Attributes:
        timeout_s: Wall-clock seconds before the call is abandoned with a timeout result.
        max_output_bytes: Largest answer (serialised JSON) passed back to the model.
    """

    timeout_s: float = 30.0
    max_output_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.max_output_bytes <= 0:
            raise ValueError("tool limits must be positive")

    def as_json(self) -> dict[str, Any]:
        """The public form (``GET /api/tools``)."""
        return {"timeout_s": self.timeout_s, "max_output_bytes": self.max_output_bytes}


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Who is calling a tool, with what permissions and until when.

    Attributes:
        tenant_id: The calling agent's tenant.
        agent_id: The calling agent.
        agent_version: The agent version whose grants apply.
        task_id: The task the call belongs to, if any.
        grants: The version's tool grants; a tool not listed is denied.
        deadline: ``time.monotonic()`` value after which the call must not run on.
    """

    tenant_id: str
    agent_id: str | None = None
    agent_version: int | None = None
    task_id: str | None = None
    grants: Sequence[ToolGrant] = ()
    deadline: float | None = None

    def grant(self, name: str) -> ToolGrant | None:
        """The grant of tool ``name``, or None when the version may not call it."""
        return next((g for g in self.grants if g.name == name), None)

    def remaining_s(self) -> float | None:
        """Seconds left before the deadline (None without a deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()


class Tool(Protocol):
    """What the gateway needs of a tool.

    Attributes:
        name: The name the model calls it by.
        description: What it does, for the model.
        parameters: JSON Schema (Draft 2020-12) of its arguments object.
        kind: ``builtin``, ``python`` or ``mcp``.
        limits: Its timeout and output cap.
    """

    @property
    def name(self) -> str: ...  # noqa: D102

    @property
    def description(self) -> str: ...  # noqa: D102

    @property
    def parameters(self) -> Mapping[str, Any]: ...  # noqa: D102

    @property
    def kind(self) -> ToolKind: ...  # noqa: D102

    @property
    def limits(self) -> ToolLimits: ...  # noqa: D102

    async def run(self, arguments: dict[str, Any], ctx: ToolContext) -> Any:
        """Do the work with validated, permitted arguments; return JSON-serialisable data.

        Raises:
            ToolError: An expected failure, shown to the model.
        """
        ...


ToolFunction = Callable[[dict[str, Any], ToolContext], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class FunctionTool:
    """A tool made of an async function ``fn(arguments, ctx)``."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    fn: ToolFunction
    kind: ToolKind = "python"
    limits: ToolLimits = field(default_factory=ToolLimits)

    async def run(self, arguments: dict[str, Any], ctx: ToolContext) -> Any:
        """Call the function."""
        return await self.fn(arguments, ctx)


class ToolSource(Protocol):
    """Tools that appear at run time per tenant (those of MCP servers)."""

    async def tools(self, tenant_id: str, servers: Collection[str] | None = None) -> list[Tool]:
        """The tools of the tenant's available servers (of ``servers`` only, when given).

        Unavailable servers are left out; this may connect to the servers.
        """
        ...

    async def catalogue(self, tenant_id: str) -> list[Tool]:
        """What the tenant's servers offer, as far as known without connecting to any."""
        ...

    async def lookup(self, tenant_id: str, name: str) -> Tool | None:
        """The tool named ``name``, or None when the tenant has no such tool.

        Raises:
            ToolError: When the tool's server is configured but unavailable.
        """
        ...


class ToolRegistry:
    """Built-in and Python tools by name, plus the per-tenant tools of a source (MCP)."""

    def __init__(self, tools: Sequence[Tool] = (), *, source: ToolSource | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        self._source = source
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> Tool:
        """Add a tool; its name must be new and its schema a valid Draft 2020-12 schema.

        Raises:
            ValueError: On a bad or taken name, or an invalid schema.
        """
        if not _NAME.match(tool.name) or len(tool.name) > TOOL_NAME_MAX:
            raise ValueError(f"invalid tool name {tool.name!r}: letters, digits, '_' and '-'")
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        try:
            check_schema(dict(tool.parameters))
        except SchemaError as exc:
            raise ValueError(f"tool {tool.name!r}: invalid schema: {exc.message}") from None
        if tool.parameters.get("type") != "object":
            raise ValueError(f"tool {tool.name!r}: parameters must describe an object")
        self._tools[tool.name] = tool
        return tool

    def function(
        self,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        *,
        limits: ToolLimits | None = None,
    ) -> Callable[[ToolFunction], ToolFunction]:
        """Decorator registering ``async def fn(arguments, ctx)`` as a Python tool."""

        def register(fn: ToolFunction) -> ToolFunction:
            self.register(
                FunctionTool(name, description, dict(parameters), fn, limits=limits or ToolLimits())
            )
            return fn

        return register

    def knows(self, tenant_id: str | None, name: str) -> bool:
        """Whether ``name`` may appear in an agent's ``tools`` list.

        Registered tools are known by name. MCP tools (``mcp.<server>.<tool>``) are known
        when well-formed: servers come and go at run time, so whether the tool exists is
        decided when it is called (an unknown one gets an error result).
        """
        del tenant_id  # every registered tool is visible to every tenant
        return name in self._tools or bool(_MCP_NAME.match(name))

    def registered(self) -> list[Tool]:
        """The built-in and Python tools, by name."""
        return [self._tools[name] for name in sorted(self._tools)]

    async def tools(self, tenant_id: str) -> list[Tool]:
        """Every tool the tenant can use: registered ones, then its MCP catalogue.

        Connects to no MCP server: a listing is no reason for Baton to reach out.
        """
        extra = await self._source.catalogue(tenant_id) if self._source is not None else []
        return [*self.registered(), *sorted(extra, key=lambda t: t.name)]

    async def granted(self, tenant_id: str, names: Collection[str]) -> list[Tool]:
        """The tools named ``names`` that exist, connecting only to the servers they name."""
        servers = {
            n.removeprefix(MCP_PREFIX).partition(".")[0] for n in names if n.startswith(MCP_PREFIX)
        }
        extra = (
            await self._source.tools(tenant_id, servers)
            if servers and self._source is not None
            else []
        )
        found = [*self.registered(), *sorted(extra, key=lambda t: t.name)]
        return [t for t in found if t.name in names]

    async def lookup(self, tenant_id: str, name: str) -> Tool | None:
        """The tool called ``name`` for this tenant, or None.

        Raises:
            ToolError: When it is an MCP tool whose server is unavailable.
        """
        tool = self._tools.get(name)
        if tool is None and name.startswith(MCP_PREFIX) and self._source is not None:
            return await self._source.lookup(tenant_id, name)
        return tool
