"""Tool permissions as an agent version states them, and the answer every tool call gets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from baton.domain.errors import InvalidInput

TOOL_NAME_MAX = 64


@dataclass(frozen=True, slots=True)
class ToolGrant:
    """One tool an agent version may call, with its grants (e.g. ``{"hosts": [...]}``)."""

    name: str
    grants: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> str | dict[str, Any]:
        """The form stored in an agent version: a bare name when there are no grants."""
        return {"name": self.name, "grants": dict(self.grants)} if self.grants else self.name


def parse_tool_grants(items: Sequence[object], *, field_name: str = "tools") -> list[ToolGrant]:
    """Read an agent version's ``tools`` list: names, or ``{name, grants}`` objects.

    Raises:
        InvalidInput: naming the offending item (``tools[2].grants`` and so on).
    """
    grants: list[ToolGrant] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"{field_name}[{index}]"
        name: object
        extra: object
        if isinstance(item, str):
            name, extra = item, {}
        elif isinstance(item, Mapping):
            unknown = set(item) - {"name", "grants"}
            if unknown:
                raise _bad(where, f"unknown keys {sorted(unknown)}")
            name, extra = item.get("name"), item.get("grants", {})
            if not isinstance(extra, Mapping):
                raise _bad(f"{where}.grants", "must be an object")
        else:
            raise _bad(where, "must be a tool name or {name, grants}")
        if not isinstance(name, str) or not name or len(name) > TOOL_NAME_MAX:
            raise _bad(where, f"tool name must be 1 to {TOOL_NAME_MAX} characters")
        if name in seen:
            raise _bad(where, f"tool {name!r} listed twice")
        seen.add(name)
        assert isinstance(extra, Mapping)
        grants.append(ToolGrant(name, dict(extra)))
    return grants


def _bad(where: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{where}: {reason}", details=[{"field": where, "reason": reason}])


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The answer to a tool call: always produced, whatever happened to the call."""

    success: bool
    data: Any = None
    error: str | None = None
    execution_time_ms: float = 0.0
