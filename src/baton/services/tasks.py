"""Task use cases for the API: submit (choosing the agent), read, list, cancel, trace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baton.domain.agents import Agent, AgentSpec, AgentStatus
from baton.domain.audit.log import AuditFilter, AuditSearch, StoredEntry
from baton.domain.errors import Conflict, InvalidInput, NotFound
from baton.domain.ids import new_id
from baton.domain.tasks import (
    AGENT_KIND,
    MAX_INPUT_BYTES,
    PermanentFailure,
    Task,
    refuse_system_messages,
    validate_input,
)
from baton.domain.tenancy import Principal
from baton.queue.task_queue import TaskQueue
from baton.services.agents import AgentService
from baton.services.audit import AuditService
from baton.services.webhooks import check_webhook_url
from baton.store.database import Database
from baton.store.pagination import Page, decode_cursor, page_of
from baton.store.tasks import NewTask, TaskEvent, TaskRepository
from baton.tools.addresses import AddressRefused

MAX_RETRIES_LIMIT = 20
TRACE_LIMIT = 5000


@dataclass(frozen=True, slots=True)
class Submission:
    """What a client asks for in ``POST /api/agents/tasks``."""

    task_type: str
    input: dict[str, Any]
    agent_id: str | None = None
    priority: int = 0
    max_retries: int = 3
    timeout_s: float | None = None
    idempotency_key: str | None = None
    webhook_url: str | None = None


class SpecCache:
    """Agent version specs by (agent, version): versions never change, so they are cached."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._specs: dict[tuple[str, int], AgentSpec] = {}

    async def __call__(self, agent_id: str, version: int) -> AgentSpec:
        """The spec of one version; PermanentFailure when it does not exist."""
        key = (agent_id, version)
        spec = self._specs.get(key)
        if spec is None:
            async with self._db.transaction(write=False) as uow:
                found = await uow.agents.versions(agent_id, after=version - 1, limit=1)
            if not found or found[0].version != version:
                raise PermanentFailure(f"agent {agent_id} has no version {version}")
            spec = self._specs[key] = found[0].spec
        return spec


class TaskService:
    """The tasks API's use cases."""

    def __init__(
        self,
        db: Database,
        queue: TaskQueue,
        agents: AgentService,
        audit: AuditService,
        *,
        webhook_allow_private: bool = False,
    ) -> None:
        self._db = db
        self.queue = queue
        self._agents = agents
        self._audit = audit
        self._webhook_allow_private = webhook_allow_private

    async def submit(self, caller: Principal, request: Submission) -> tuple[Task, bool]:
        """Validate, pick the agent, and queue the task.

        The same idempotency key returns the first task instead of queueing another; the
        flag is True when the task was created now.
        """
        data = validate_input(request.input)
        if len(repr(data)) > MAX_INPUT_BYTES:
            raise InvalidInput(f"input is larger than {MAX_INPUT_BYTES} bytes")
        if not 0 <= request.max_retries <= MAX_RETRIES_LIMIT:
            raise InvalidInput(f"max_retries must be between 0 and {MAX_RETRIES_LIMIT}")
        if request.webhook_url is not None:
            await self._check_webhook(request.webhook_url)
        try:
            agent = await self._choose_agent(caller, request)
        except (InvalidInput, Conflict):
            # A retried submission whose task exists is answered even if its agent has
            # gone since; the common case needs no read here (the insert finds the twin).
            existing = await self._by_key(caller, request.idempotency_key)
            if existing is None:
                raise
            return existing, False
        if not agent.spec.config.allow_input_system_prompt:
            refuse_system_messages(data)
        new = NewTask(
            id=new_id(),
            tenant_id=caller.tenant_id,
            kind=AGENT_KIND,
            agent_id=agent.id,
            agent_version=agent.version,
            task_type=request.task_type,
            input=data,
            priority=request.priority,
            max_retries=request.max_retries,
            timeout_s=request.timeout_s,
            idempotency_key=request.idempotency_key,
            created_by=caller.key_id,
            agent_cap=agent.spec.config.max_concurrency,
            webhook_url=request.webhook_url,
        )
        return await self.queue.submit(new, caller.key_id)

    async def _by_key(self, caller: Principal, key: str | None) -> Task | None:
        if key is None:
            return None
        return await self._db.run(
            lambda c: TaskRepository(c).by_idempotency_key(caller.tenant_id, key), write=False
        )

    async def _check_webhook(self, url: str) -> None:
        """Refuse webhook URLs that are malformed or reach addresses they may not."""
        try:
            await check_webhook_url(url, allow_private=self._webhook_allow_private)
        except AddressRefused as exc:
            raise InvalidInput(
                f"webhook_url: {exc}", details=[{"field": "webhook_url", "reason": exc.reason}]
            ) from None

    async def _choose_agent(self, caller: Principal, request: Submission) -> Agent:
        if request.agent_id is not None:
            try:
                agent = await self._agents.get_recent(caller, request.agent_id)
            except NotFound:
                raise InvalidInput(
                    f"agent_id: no agent {request.agent_id}",
                    details=[{"field": "agent_id", "reason": "no such agent"}],
                ) from None
            if agent.status is not AgentStatus.ACTIVE:
                raise Conflict(f"agent {agent.name!r} is {agent.status.value}; it takes no tasks")
            return agent
        candidates = await self._agents.find_agents_for_task(caller.tenant_id, request.task_type)
        if not candidates:
            raise InvalidInput(
                f"no active agent has the capability {request.task_type!r}; name an agent_id",
                details=[{"field": "task_type", "reason": "no matching agent"}],
            )
        return candidates[0]

    async def get(self, caller: Principal, task_id: str) -> Task:
        """One of the caller's tenant's tasks."""
        task = await self.queue.get(caller.tenant_id, task_id)
        if task is None:
            raise NotFound(f"task {task_id} not found")
        return task

    async def search(
        self,
        caller: Principal,
        *,
        agent_id: str | None,
        status: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page[Task]:
        """The tenant's tasks, newest first."""
        before = decode_cursor(cursor)
        items = await self._db.run(
            lambda c: TaskRepository(c).newest(
                caller.tenant_id, agent_id=agent_id, status=status, before=before, limit=limit + 1
            ),
            write=False,
        )
        return page_of(items, limit)

    async def cancel(self, caller: Principal, task_id: str) -> Task:
        """Cancel a queued task at once, or ask a running one to stop."""
        task = await self.queue.cancel(caller.tenant_id, task_id, caller.key_id)
        if task is None:
            raise NotFound(f"task {task_id} not found")
        return task

    async def trace(self, caller: Principal, task_id: str) -> list[StoredEntry]:
        """The task's audit entries in order."""
        await self.get(caller, task_id)
        query = AuditSearch(AuditFilter(task_id=task_id), limit=TRACE_LIMIT, newest_first=False)
        page = await self._audit.search(caller.tenant_id, query)
        return page.items

    async def events(
        self, caller: Principal, after_id: int, task_id: str | None = None, limit: int = 500
    ) -> list[TaskEvent]:
        """Events after ``after_id`` (for SSE), of one task or the whole tenant."""
        return await self.queue.events_after(
            caller.tenant_id, after_id, task_id=task_id, limit=limit
        )
