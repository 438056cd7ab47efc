"""The ``python`` tool: code run in the bubblewrap sandbox, never outside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from baton.tools.registry import ToolContext, ToolError, ToolKind, ToolLimits
from baton.tools.sandbox import Sandbox, SandboxLimits, SandboxUnavailable

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {
            "type": "string",
            "minLength": 1,
            "description": "A Python 3 program; print what you want to see. No network access.",
        }
    },
    "required": ["code"],
    "additionalProperties": False,
}

# The gateway's timeout only backs up the sandbox's own wall-clock kill.
_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class PythonTool:
    """Runs a Python program in a sandbox with no network and hard resource limits."""

    sandbox: Sandbox
    sandbox_limits: SandboxLimits = field(default_factory=SandboxLimits)
    name: str = "python"
    description: str = (
        "Run a Python 3 program in an isolated sandbox (no network, limited CPU, memory and "
        "time) and return its stdout, stderr and exit code."
    )
    parameters: dict[str, Any] = field(default_factory=lambda: PARAMETERS)
    kind: ToolKind = "builtin"

    @property
    def limits(self) -> ToolLimits:
        """The sandbox's wall timeout plus a grace; output is capped by the sandbox."""
        return ToolLimits(
            timeout_s=self.sandbox_limits.wall_timeout_s + _GRACE_S,
            # Two streams, each at most output_bytes, which JSON escaping can grow six-fold.
            max_output_bytes=12 * self.sandbox_limits.output_bytes + 1024,
        )

    async def run(self, arguments: dict[str, Any], ctx: ToolContext) -> Any:
        """Return ``{stdout, stderr, exit_code, timed_out, truncated}``."""
        try:
            result = await self.sandbox.run(arguments["code"], limits=self.sandbox_limits)
        except SandboxUnavailable as exc:
            raise ToolError(
                f"the python sandbox is not available on this server: {exc}",
                code="sandbox_unavailable",
            ) from None
        except ValueError as exc:
            raise ToolError(str(exc), code="invalid_arguments") from None
        return {
            "stdout": result.stdout,
            "stderr": result.stderr,
            "exit_code": result.exit_code,
            "timed_out": result.timed_out,
            "truncated": result.truncated,
        }
