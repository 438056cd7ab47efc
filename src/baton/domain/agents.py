"""Agents: immutable numbered versions, typed configuration, validation and matching."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from baton.domain.errors import InvalidInput
from baton.domain.tools import ToolGrant, parse_tool_grants

NAME_MAX = 100
CAPABILITY_MAX_LEN = 64
CAPABILITIES_MAX = 50
MAX_STEPS_LIMIT = 100
TIMEOUT_S_LIMIT = 3600.0
WILDCARD = ".*"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")

Problem = dict[str, str]


class AgentStatus(enum.StrEnum):
    """Whether an agent takes new tasks; an agent is never deleted, only made inactive."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    DEPRECATED = "deprecated"


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A provider and model, e.g. one step of a fallback chain."""

    provider: str
    model: str


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """How an agent calls its model and how long it may run.

    ``base_url`` is the agent's own endpoint and ``api_key_env`` the server environment
    variable holding its key (never the key itself). ``base_url_approved`` records that a
    superadmin saved that ``base_url``; the server sets it, whatever a document says.
    """

    provider: str
    model: str
    system_prompt: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    max_steps: int = 10
    timeout_s: float = 300.0
    fallbacks: tuple[ModelRef, ...] = ()
    base_url: str | None = None
    api_key_env: str | None = None
    base_url_approved: bool = False
    max_concurrency: int | None = None  # running tasks of this agent at once, all workers
    allow_input_system_prompt: bool = False  # task input.messages may hold system messages

    @classmethod
    def from_json(
        cls, doc: Mapping[str, Any], *, providers: Collection[str], field: str = "config"
    ) -> AgentConfig:
        """Validate and read a config document.

        Args:
            doc: The JSON object, e.g. ``{"provider": "openai", "model": "gpt-4o"}``.
            providers: The provider names accepted.
            field: The name errors give the document (``config.temperature`` and so on).

        Raises:
            InvalidInput: Listing every problem, each naming its field.
        """
        problems = config_problems(doc, providers, field)
        if problems:
            raise invalid(f"invalid {field}", problems)
        return cls.restore(doc)

    @classmethod
    def restore(cls, doc: Mapping[str, Any]) -> AgentConfig:
        """Read a document validated before (a stored version): no checks, no failure later.

        A stored version stays readable even if its provider is no longer offered.
        """
        values = dict(doc)
        values["fallbacks"] = tuple(
            ModelRef(f["provider"], f["model"]) for f in doc.get("fallbacks", ())
        )
        if values.get("temperature") is not None:
            values["temperature"] = float(values["temperature"])
        if "timeout_s" in values:
            values["timeout_s"] = float(values["timeout_s"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The stored and shown form; unset optional fields are left out."""
        doc: dict[str, Any] = {
            "provider": self.provider,
            "model": self.model,
            "system_prompt": self.system_prompt,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "max_steps": self.max_steps,
            "timeout_s": self.timeout_s,
            "fallbacks": [{"provider": f.provider, "model": f.model} for f in self.fallbacks],
            "base_url": self.base_url,
            "api_key_env": self.api_key_env,
            "base_url_approved": self.base_url_approved or None,
            "max_concurrency": self.max_concurrency,
            "allow_input_system_prompt": self.allow_input_system_prompt or None,
        }
        return {k: v for k, v in doc.items() if v is not None}


def _number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _nonempty(value: object, limit: int) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= limit


def _range_problem(key: str, value: object) -> str | None:
    """Why ``value`` is no good for the scalar config key ``key`` (None when it is fine)."""
    if key == "temperature":
        return None if _number(value) and 0 <= value <= 2 else "must be a number from 0 to 2"
    if key == "max_tokens":
        return None if _integer(value) and value > 0 else "must be a positive integer"
    if key == "max_steps":
        ok = _integer(value) and 1 <= value <= MAX_STEPS_LIMIT
        return None if ok else f"must be an integer from 1 to {MAX_STEPS_LIMIT}"
    if key == "timeout_s":
        ok = _number(value) and 0 < value <= TIMEOUT_S_LIMIT
        return None if ok else f"must be a number of seconds in (0, {TIMEOUT_S_LIMIT:g}]"
    if key == "max_concurrency":
        ok = _integer(value) and 1 <= value <= 100_000
        return None if ok else "must be an integer from 1 to 100000"
    if key == "system_prompt":
        return None if isinstance(value, str) else "must be a string"
    if key == "base_url":
        ok = isinstance(value, str) and value.startswith(("http://", "https://"))
        return None if ok else "must be an http:// or https:// URL"
    if key == "api_key_env":
        ok = isinstance(value, str) and ENV_NAME.match(value) is not None
        return None if ok else "must be the name of an environment variable (not a key)"
    if key == "base_url_approved":
        return None if isinstance(value, bool) else "must be a boolean (set by the server)"
    if key == "allow_input_system_prompt":
        return None if isinstance(value, bool) else "must be a boolean"
    return "unknown field"


def _model_problems(
    doc: Mapping[str, Any], providers: Collection[str], where: str
) -> list[Problem]:
    problems: list[Problem] = []
    if doc.get("provider") not in providers:
        reason = f"unknown provider; expected one of {', '.join(sorted(providers))}"
        problems.append({"field": f"{where}.provider", "reason": reason})
    if not _nonempty(doc.get("model"), 200):
        problems.append({"field": f"{where}.model", "reason": "must be a non-empty model name"})
    return problems


def config_problems(
    doc: Mapping[str, Any], providers: Collection[str], field: str
) -> list[Problem]:
    """Every problem of a config document, each ``{"field", "reason"}``."""
    if not isinstance(doc, Mapping):
        return [{"field": field, "reason": "must be an object"}]
    problems = _model_problems(doc, providers, field)
    for key, value in doc.items():
        if key in ("provider", "model"):
            continue
        if key == "fallbacks":
            problems += _fallback_problems(value, providers, f"{field}.fallbacks")
            continue
        optional = ("temperature", "max_tokens", "base_url", "api_key_env", "max_concurrency")
        if key in optional and value is None:
            continue
        reason = _range_problem(key, value)
        if reason:
            problems.append({"field": f"{field}.{key}", "reason": reason})
    return problems


def _fallback_problems(value: object, providers: Collection[str], where: str) -> list[Problem]:
    if not isinstance(value, list):
        return [{"field": where, "reason": "must be a list of {provider, model}"}]
    problems: list[Problem] = []
    for index, item in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(item, Mapping) or set(item) != {"provider", "model"}:
            problems.append({"field": at, "reason": "must be exactly {provider, model}"})
        else:
            problems += _model_problems(item, providers, at)
    return problems


def capability_problems(capabilities: Sequence[object]) -> list[Problem]:
    """Every problem of a capability list: non-empty unique strings, ``a.b`` or ``a.*``."""
    if len(capabilities) > CAPABILITIES_MAX:
        return [{"field": "capabilities", "reason": f"at most {CAPABILITIES_MAX} capabilities"}]
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, cap in enumerate(capabilities):
        where = f"capabilities[{index}]"
        if not isinstance(cap, str) or not cap or cap != cap.strip():
            reason = "must be a non-empty string without surrounding spaces"
        elif len(cap) > CAPABILITY_MAX_LEN:
            reason = f"at most {CAPABILITY_MAX_LEN} characters"
        elif "*" in cap.removesuffix(WILDCARD) or cap == WILDCARD:
            reason = "a wildcard is only allowed as a final '.*' after a prefix, e.g. 'code.*'"
        elif cap in seen:
            reason = "listed twice"
        else:
            seen.add(cap)
            continue
        problems.append({"field": where, "reason": reason})
    return problems


def invalid(message: str, problems: list[Problem]) -> InvalidInput:
    """An InvalidInput listing ``problems`` in its details and summarising them."""
    summary = "; ".join(f"{p['field']}: {p['reason']}" for p in problems[:5])
    return InvalidInput(f"{message}: {summary}", details=problems)


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """What a version fixes: capabilities, tool grants and model configuration."""

    capabilities: tuple[str, ...]
    tools: tuple[ToolGrant, ...]
    config: AgentConfig

    @classmethod
    def parse(
        cls,
        *,
        capabilities: Sequence[object],
        tools: Sequence[object],
        config: Mapping[str, Any],
        providers: Collection[str],
        is_known_tool: Callable[[str], bool],
    ) -> AgentSpec:
        """Validate all three parts and report every problem at once.

        Raises:
            InvalidInput: With ``details`` naming each field (``config.provider``,
                ``tools[1]``, ``capabilities[0]``, ...).
        """
        problems = capability_problems(capabilities)
        grants: list[ToolGrant] = []
        try:
            grants = parse_tool_grants(tools)
        except InvalidInput as exc:
            problems += exc.details or [{"field": "tools", "reason": exc.message}]
        for index, grant in enumerate(grants):
            if not is_known_tool(grant.name):
                problems.append(
                    {"field": f"tools[{index}]", "reason": f"unknown tool {grant.name!r}"}
                )
        problems += config_problems(config, providers, "config")
        if problems:
            raise invalid("invalid agent", problems)
        caps = tuple(str(c) for c in capabilities)
        return cls(caps, tuple(grants), AgentConfig.from_json(config, providers=providers))

    def tools_json(self) -> list[str | dict[str, Any]]:
        """The tools list in its stored form: names, or ``{name, grants}``."""
        return [grant.as_json() for grant in self.tools]


@dataclass(frozen=True, slots=True)
class AgentVersion:
    """One immutable version of an agent; tasks record the number they ran."""

    agent_id: str
    version: int
    spec: AgentSpec
    created_by: str | None
    created_at: datetime

    @property
    def id(self) -> str:
        """The version number as text: the key versions are paged by."""
        return str(self.version)


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent with its current version's spec.

    ``tenant_id`` is the owner; a global agent (``is_global``) is visible to every tenant
    and changed by superadmins only.
    """

    id: str
    tenant_id: str
    name: str
    description: str
    status: AgentStatus
    is_global: bool
    version: int
    spec: AgentSpec
    created_at: datetime
    updated_at: datetime


def validate_name(name: str) -> str:
    """Return the name unchanged, or raise InvalidInput naming the field."""
    if not name.strip() or len(name) > NAME_MAX:
        raise invalid("invalid agent", [{"field": "name", "reason": f"1 to {NAME_MAX} characters"}])
    return name


def capability_patterns(task_type: str) -> list[str]:
    """The capabilities that serve ``task_type``: itself, then its prefixes, longest first.

    ``code.python.review`` is served by ``code.python.review``, ``code.python.*`` and
    ``code.*``.
    """
    parts = task_type.split(".")
    prefixes = [".".join(parts[:n]) + WILDCARD for n in range(len(parts) - 1, 0, -1)]
    return [task_type, *prefixes]


def match_rank(spec: AgentSpec, task_type: str) -> int | None:
    """0 for an exact capability, n for the n-th longest prefix, None when none serves."""
    ranks = [i for i, p in enumerate(capability_patterns(task_type)) if p in spec.capabilities]
    return min(ranks) if ranks else None


def rank_agents(agents: Sequence[Agent], task_type: str) -> list[Agent]:
    """The active agents that serve ``task_type``, best first.

    Exact capability before prefix (longer prefixes first), then the newest version, then
    the newest agent.
    """
    scored = [
        (rank, agent)
        for agent in agents
        if agent.status is AgentStatus.ACTIVE
        and (rank := match_rank(agent.spec, task_type)) is not None
    ]
    scored.sort(key=lambda item: (item[1].created_at, item[1].id), reverse=True)
    scored.sort(key=lambda item: (item[0], -item[1].version))  # stable: keeps newest first
    return [agent for _, agent in scored]
