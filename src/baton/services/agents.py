"""Agent registry use cases: create, read, change, version, deactivate and match agents."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from baton.domain.agents import (
    Agent,
    AgentSpec,
    AgentStatus,
    AgentVersion,
    capability_patterns,
    invalid,
    rank_agents,
    validate_name,
)
from baton.domain.audit.log import AuditEvent, admin_action
from baton.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from baton.domain.tenancy import Principal, Role
from baton.llm.access import LLMAccess
from baton.llm.registry import provider_names
from baton.services.audit import AuditService
from baton.services.ttl_cache import TtlCache
from baton.store.database import Database
from baton.store.pagination import Page, decode_cursor, page_of, seq_cursor
from baton.store.unit_of_work import UnitOfWork
from baton.tools.host_grants import HostGrantPolicy

if TYPE_CHECKING:
    from baton.services.container import Services

#: Whether a tool name is known: (tenant id, or None for a global agent; tool name).
KnownTools = Callable[[str | None, str], bool]

BUILTIN_TOOLS = frozenset({"calculator", "python", "http_request", "current_time"})


def builtin_known_tools(tenant_id: str | None, name: str) -> bool:
    """The built-in tools, and any ``mcp.`` tool (until the tool gateway's registry is wired)."""
    return name in BUILTIN_TOOLS or name.startswith("mcp.")


def local_operator(tenant_id: str, actor: str) -> Principal:
    """The principal of someone acting on the machine itself (the CLI, start-up tasks)."""
    return Principal(key_id=actor, tenant_id=tenant_id, role=Role.SUPERADMIN)


class ApplyOutcome(enum.StrEnum):
    """What applying a declared agent did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class AgentDefinition:
    """A whole agent as declared: the body of a create, or a file given to ``apply``."""

    name: str
    config: Mapping[str, Any]
    description: str = ""
    capabilities: Sequence[object] = ()
    tools: Sequence[object] = ()
    status: AgentStatus = AgentStatus.ACTIVE
    is_global: bool = False


@dataclass(frozen=True, slots=True)
class AgentChanges:
    """Fields a PATCH may change; None means 'leave as is'.

    Capabilities, tools and config are versioned: a change to any of them makes the next
    version. A given config replaces the old one whole.
    """

    name: str | None = None
    description: str | None = None
    status: AgentStatus | None = None
    capabilities: Sequence[object] | None = None
    tools: Sequence[object] | None = None
    config: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class _Edit:
    row: dict[str, Any] = field(default_factory=dict)
    spec: AgentSpec | None = None

    @property
    def empty(self) -> bool:
        return not self.row and self.spec is None


def _event(agent: Agent, caller: Principal, action: str, **details: Any) -> AuditEvent:
    """An admin action about ``agent``, in the log of the tenant that owns it."""
    event = admin_action(agent.tenant_id, caller.key_id, action, agent.id, **details)
    return dataclasses.replace(event, agent_id=agent.id)


class AgentService:
    """The agent registry, tenant-scoped; global agents are shared and superadmin-edited."""

    def __init__(
        self,
        db: Database,
        audit: AuditService,
        known_tools: KnownTools,
        *,
        access: LLMAccess,
        cache_s: float = 0.0,
        test_providers: bool = False,
        host_grants: HostGrantPolicy | None = None,
    ) -> None:
        self._db = db
        self._host_grants = host_grants or HostGrantPolicy()
        self._test_providers = test_providers  # `scripted`: only where the operator opts in
        self._audit = audit
        self._known_tools = known_tools
        self._access = access
        # Task submission reads agents on every request; writes below drop these copies.
        self._by_id: TtlCache[tuple[str, str], Agent] = TtlCache(cache_s)
        self._by_type: TtlCache[tuple[str, str], list[Agent]] = TtlCache(cache_s)

    def _forget(self) -> None:
        self._by_id.drop()
        self._by_type.drop()

    def _spec(
        self,
        scope: str | None,
        capabilities: Sequence[object],
        tools: Sequence[object],
        config: Mapping[str, Any],
    ) -> AgentSpec:
        return AgentSpec.parse(
            capabilities=capabilities,
            tools=tools,
            config=config,
            providers=provider_names(include_testing=self._test_providers),
            is_known_tool=lambda name: self._known_tools(scope, name),
        )

    async def _vetted(
        self, caller: Principal, spec: AgentSpec, previous: AgentSpec | None
    ) -> AgentSpec:
        """``spec`` checked against the operator's LLM rules, its base URL approval set.

        A superadmin's save approves the config's ``base_url``; an approval carries over
        to a later version only while ``base_url`` and ``api_key_env`` stay the same.
        """
        spec = self._host_grants.vetted_spec(spec, previous, superadmin=caller.may(Role.SUPERADMIN))
        config = spec.config
        before = previous.config if previous is not None else None
        approved = config.base_url is not None and (
            caller.may(Role.SUPERADMIN)
            or (
                before is not None
                and before.base_url_approved
                and (before.base_url, before.api_key_env) == (config.base_url, config.api_key_env)
            )
        )
        problems = self._access.problems(config, approved=approved)
        problems = problems or await self._access.address_problems(config)
        if problems:
            raise invalid("invalid agent", problems)
        config = dataclasses.replace(config, base_url_approved=approved)
        return dataclasses.replace(spec, config=config)

    async def create(self, caller: Principal, definition: AgentDefinition) -> Agent:
        """Create an agent and its version 1 in the caller's tenant (or a global one)."""
        async with self._db.transaction() as uow:
            agent = await self._create_in(uow, caller, definition)
        self._forget()
        return agent

    async def _create_in(
        self, uow: UnitOfWork, caller: Principal, definition: AgentDefinition
    ) -> Agent:
        if definition.is_global and not caller.may(Role.SUPERADMIN):
            raise Forbidden("global agents need the superadmin role")
        scope = None if definition.is_global else caller.tenant_id
        spec = self._spec(scope, definition.capabilities, definition.tools, definition.config)
        spec = await self._vetted(caller, spec, None)
        agent = await uow.agents.create(
            caller.tenant_id,
            name=validate_name(definition.name),
            description=definition.description,
            status=definition.status,
            is_global=definition.is_global,
            spec=spec,
            created_by=caller.key_id,
        )
        event = _event(
            agent, caller, "agent.created", name=agent.name, version=1, is_global=agent.is_global
        )
        await self._audit.append_in(uow, [event])
        return agent

    async def get(self, caller: Principal, agent_id: str) -> Agent:
        """An agent of the caller's tenant or a global one; NotFound otherwise."""
        async with self._db.transaction(write=False) as uow:
            return await self._visible(uow, caller, agent_id)

    async def get_recent(self, caller: Principal, agent_id: str) -> Agent:
        """``get``, served from a copy at most ``cache_s`` old (task submission)."""
        return await self._by_id.get_or_load(
            (caller.tenant_id, agent_id), lambda: self.get(caller, agent_id)
        )

    async def find(self, caller: Principal, name_or_id: str) -> Agent:
        """An agent by id, else by name (the tenant's own before a global one)."""
        async with self._db.transaction(write=False) as uow:
            agent = await uow.agents.get(caller.tenant_id, name_or_id)
            agent = agent or await uow.agents.get_by_name(caller.tenant_id, name_or_id)
        if agent is None:
            raise NotFound(f"no agent named or with id {name_or_id!r}")
        return agent

    @staticmethod
    async def _visible(uow: UnitOfWork, caller: Principal, agent_id: str) -> Agent:
        agent = await uow.agents.get(caller.tenant_id, agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} not found")
        return agent

    async def search(
        self,
        caller: Principal,
        *,
        capabilities: Sequence[str] = (),
        status: AgentStatus | None = None,
        q: str | None = None,
        cursor: str | None,
        limit: int,
    ) -> Page[Agent]:
        """A page of visible agents, oldest first, with any of ``capabilities``, matching q."""
        async with self._db.transaction(write=False) as uow:
            items = await uow.agents.search(
                caller.tenant_id,
                capabilities=capabilities,
                status=status,
                text=q.strip() if q else None,
                after=decode_cursor(cursor),
                limit=limit + 1,
            )
        return page_of(items, limit)

    async def versions(
        self, caller: Principal, agent_id: str, *, cursor: str | None, limit: int
    ) -> Page[AgentVersion]:
        """A page of an agent's versions, oldest first."""
        after = seq_cursor(decode_cursor(cursor)) or 0
        async with self._db.transaction(write=False) as uow:
            await self._visible(uow, caller, agent_id)
            items = await uow.agents.versions(agent_id, after=after, limit=limit + 1)
        return page_of(items, limit)

    async def update(self, caller: Principal, agent_id: str, changes: AgentChanges) -> Agent:
        """Apply a partial update; a changed spec becomes the next version."""
        if all(getattr(changes, f.name) is None for f in dataclasses.fields(changes)):
            raise InvalidInput("nothing to change: give at least one field")
        async with self._db.transaction() as uow:
            agent = await self._writable(uow, caller, agent_id)
            agent, _ = await self._change_in(uow, caller, agent, changes)
        self._forget()
        return agent

    async def deactivate(self, caller: Principal, agent_id: str) -> Agent:
        """Soft delete: the agent becomes inactive; its versions stay for the tasks that ran."""
        async with self._db.transaction() as uow:
            agent = await self._writable(uow, caller, agent_id)
            if agent.status is not AgentStatus.INACTIVE:
                await uow.agents.update(agent.id, status=AgentStatus.INACTIVE)
                event = _event(agent, caller, "agent.deactivated", previous=agent.status.value)
                await self._audit.append_in(uow, [event])
                agent = await self._visible(uow, caller, agent_id)
        self._forget()
        return agent

    async def apply(
        self, caller: Principal, definition: AgentDefinition
    ) -> tuple[Agent, ApplyOutcome]:
        """Make the caller's tenant's agent of that name match ``definition``; idempotent.

        Creates it when missing; otherwise changes only what differs (a new version only
        when capabilities, tools or config differ).
        """
        async with self._db.transaction() as uow:
            agent = await uow.agents.get_by_name(caller.tenant_id, definition.name)
            if agent is None or agent.tenant_id != caller.tenant_id:
                agent = await self._create_in(uow, caller, definition)
                outcome = ApplyOutcome.CREATED
            else:
                if agent.is_global != definition.is_global:
                    reason = "cannot change whether an existing agent is global"
                    raise InvalidInput(reason, details=[{"field": "global", "reason": reason}])
                self._check_writable(caller, agent)
                changes = AgentChanges(
                    description=definition.description,
                    status=definition.status,
                    capabilities=definition.capabilities,
                    tools=definition.tools,
                    config=definition.config,
                )
                agent, changed = await self._change_in(uow, caller, agent, changes)
                outcome = ApplyOutcome.UPDATED if changed else ApplyOutcome.UNCHANGED
        self._forget()
        return agent, outcome

    async def _writable(self, uow: UnitOfWork, caller: Principal, agent_id: str) -> Agent:
        agent = await self._visible(uow, caller, agent_id)
        self._check_writable(caller, agent)
        return agent

    @staticmethod
    def _check_writable(caller: Principal, agent: Agent) -> None:
        if agent.is_global and not caller.may(Role.SUPERADMIN):
            raise Forbidden("global agents are changed by superadmins only")

    async def _edit(self, caller: Principal, agent: Agent, changes: AgentChanges) -> _Edit:
        row: dict[str, Any] = {}
        if changes.name is not None and changes.name != agent.name:
            row["name"] = validate_name(changes.name)
        if changes.description is not None and changes.description != agent.description:
            row["description"] = changes.description
        if changes.status is not None and changes.status is not agent.status:
            row["status"] = changes.status
        if changes.capabilities is None and changes.tools is None and changes.config is None:
            return _Edit(row)
        current = agent.spec
        spec = self._spec(
            None if agent.is_global else agent.tenant_id,
            current.capabilities if changes.capabilities is None else changes.capabilities,
            current.tools_json() if changes.tools is None else changes.tools,
            current.config.to_json() if changes.config is None else changes.config,
        )
        spec = await self._vetted(caller, spec, current)
        return _Edit(row, spec if spec != current else None)

    async def _change_in(
        self, uow: UnitOfWork, caller: Principal, agent: Agent, changes: AgentChanges
    ) -> tuple[Agent, bool]:
        edit = await self._edit(caller, agent, changes)
        if edit.empty:
            return agent, False
        version = agent.version
        if edit.row:
            await uow.agents.update(agent.id, **edit.row)
        if edit.spec is not None:
            version = await uow.agents.add_version(agent.id, edit.spec, caller.key_id)
        fields = sorted(edit.row) + (["spec"] if edit.spec is not None else [])
        event = _event(
            agent,
            caller,
            "agent.updated",
            version=version,
            new_version=edit.spec is not None,
            fields=fields,
        )
        await self._audit.append_in(uow, [event])
        return await self._visible(uow, caller, agent.id), True

    async def find_agents_for_task(self, tenant_id: str, task_type: str) -> list[Agent]:
        """Active agents (the tenant's and global ones) that serve ``task_type``, best first.

        Served from a copy at most ``cache_s`` old.
        """

        async def load() -> list[Agent]:
            async with self._db.transaction(write=False) as uow:
                return await self.agents_for_task_in(uow, tenant_id, task_type)

        return await self._by_type.get_or_load((tenant_id, task_type), load)

    @staticmethod
    async def agents_for_task_in(uow: UnitOfWork, tenant_id: str, task_type: str) -> list[Agent]:
        """``find_agents_for_task`` inside the caller's unit of work (e.g. task submission)."""
        if not task_type:
            return []
        patterns = capability_patterns(task_type)
        return rank_agents(await uow.agents.with_any_capability(tenant_id, patterns), task_type)


DEMO_AGENTS = (
    AgentDefinition(
        name="assistant",
        description="A general assistant on the embedded local model.",
        capabilities=("chat", "general"),
        tools=("calculator", "current_time"),
        config={"provider": "local", "model": "smollm2-135m", "max_steps": 4, "max_tokens": 256},
    ),
    AgentDefinition(
        name="calculator",
        description="Answers arithmetic questions with the calculator tool.",
        capabilities=("math",),
        tools=("calculator",),
        # A 135M model tends to call the tool again and again: a few steps are plenty.
        config={"provider": "local", "model": "smollm2-135m", "max_steps": 3, "max_tokens": 128},
    ),
)


async def ensure_demo_agents(services: Services, tenant_id: str) -> list[Agent]:
    """Create the demo agents missing from the tenant (never changes existing ones).

    Returns:
        The agents created now (empty when all were there).
    """
    operator = local_operator(tenant_id, "system")
    created: list[Agent] = []
    async with services.db.transaction(write=False) as uow:
        present = {d.name for d in DEMO_AGENTS if await uow.agents.get_by_name(tenant_id, d.name)}
    for definition in DEMO_AGENTS:
        if definition.name not in present:
            with contextlib.suppress(Conflict):  # another process created it just now
                created.append(await services.agents.create(operator, definition))
    return created
