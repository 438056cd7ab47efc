"""The ``current_time`` tool: the time now in an IANA time zone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from baton.tools.registry import ToolContext, ToolError, ToolKind, ToolLimits

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "timezone": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "description": "IANA time zone such as 'Europe/Paris'; UTC when omitted.",
        }
    },
    "additionalProperties": False,
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CurrentTimeTool:
    """Tells the current date and time in a time zone."""

    clock: Callable[[], datetime] = _utcnow
    name: str = "current_time"
    description: str = "The current date and time (ISO 8601) in an IANA time zone, UTC by default."
    parameters: dict[str, Any] = field(default_factory=lambda: PARAMETERS)
    kind: ToolKind = "builtin"
    limits: ToolLimits = field(default_factory=lambda: ToolLimits(timeout_s=5.0))

    async def run(self, arguments: dict[str, Any], ctx: ToolContext) -> Any:
        """Return ``{"timezone", "iso", "unix"}``."""
        name = arguments.get("timezone", "UTC")
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ToolError(f"unknown time zone {name!r}", code="invalid_timezone") from None
        now = self.clock().astimezone(zone)
        return {"timezone": name, "iso": now.isoformat(), "unix": now.timestamp()}
