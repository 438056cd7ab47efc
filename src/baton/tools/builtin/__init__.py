"""The built-in tools: ``calculator``, ``python``, ``http_request`` and ``current_time``."""

from __future__ import annotations

import httpx

from baton.tools.addresses import Resolver, system_resolver
from baton.tools.builtin.calculator import CalculatorTool
from baton.tools.builtin.current_time import CurrentTimeTool
from baton.tools.builtin.http_request import HttpLimits, HttpRequestTool
from baton.tools.builtin.python_code import PythonTool
from baton.tools.registry import Tool
from baton.tools.sandbox import Sandbox, SandboxLimits

__all__ = [
    "CalculatorTool",
    "CurrentTimeTool",
    "HttpLimits",
    "HttpRequestTool",
    "PythonTool",
    "builtin_tools",
]


def builtin_tools(
    *,
    sandbox: Sandbox,
    sandbox_limits: SandboxLimits | None = None,
    http: HttpLimits | None = None,
    resolver: Resolver = system_resolver,
    transport: httpx.AsyncBaseTransport | None = None,
    http_allow_private: bool = False,
) -> list[Tool]:
    """One instance of each built-in tool, configured.

    ``http_allow_private`` honours every ``http_request`` grant's ``allow_private``
    (``BATON_HTTP_TOOL_ALLOW_PRIVATE``), not only superadmin-approved ones.
    """
    return [
        CalculatorTool(),
        PythonTool(sandbox, sandbox_limits or SandboxLimits()),
        HttpRequestTool(http or HttpLimits(), resolver, transport, http_allow_private),
        CurrentTimeTool(),
    ]
