"""Projects: their AI mode and the rules for their AI configuration."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from baton.domain.errors import InvalidInput


class AiMode(enum.StrEnum):
    """How a project's conversations get AI replies."""

    SIMPLE = "simple"
    ORCHESTRATOR = "orchestrator"


# key -> (accepted types, description); anything else in ai_config is rejected.
AI_CONFIG_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "agent_id": ((str,), "agent that answers in simple mode"),
    "workflow_id": ((str,), "workflow graph that drives orchestrator mode"),
    "model": ((str,), "model name or alias"),
    "provider": ((str,), "LLM provider"),
    "system_prompt": ((str,), "system prompt for replies"),
    "temperature": ((int, float), "sampling temperature, 0 to 2"),
    "max_tokens": ((int,), "reply token limit, positive"),
}


@dataclass(frozen=True, slots=True)
class Project:
    """A project: the home of conversations and their AI configuration."""

    id: str
    tenant_id: str
    name: str
    description: str
    ai_mode: AiMode
    ai_config: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def parse_ai_mode(value: str) -> AiMode:
    """Return the AiMode named by ``value`` or raise InvalidInput naming the choices."""
    try:
        return AiMode(value)
    except ValueError:
        choices = ", ".join(m.value for m in AiMode)
        raise InvalidInput(
            f"unknown ai_mode {value!r}; expected one of: {choices}",
            details=[{"field": "ai_mode", "reason": f"must be one of {choices}"}],
        ) from None


def validate_ai_config(config: dict[str, Any]) -> dict[str, Any]:
    """Check an ai_config against the known fields; return it unchanged or raise InvalidInput."""
    problems: list[dict[str, str]] = []
    for key, value in config.items():
        spec = AI_CONFIG_FIELDS.get(key)
        if spec is None:
            problems.append({"field": f"ai_config.{key}", "reason": "unknown field"})
            continue
        types, _ = spec
        if isinstance(value, bool) or not isinstance(value, types):
            names = " or ".join(t.__name__ for t in types)
            problems.append({"field": f"ai_config.{key}", "reason": f"must be {names}"})
            continue
        if key == "temperature" and isinstance(value, int | float) and not 0 <= value <= 2:
            problems.append({"field": "ai_config.temperature", "reason": "must be between 0 and 2"})
        if key == "max_tokens" and isinstance(value, int) and value <= 0:
            problems.append({"field": "ai_config.max_tokens", "reason": "must be positive"})
    if problems:
        summary = "; ".join(f"{p['field']}: {p['reason']}" for p in problems)
        raise InvalidInput(f"invalid ai_config: {summary}", details=problems)
    return config
