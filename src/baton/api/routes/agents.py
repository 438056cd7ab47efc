"""The agent registry.

Only ``/api/agents`` and ``/api/agents/{agent_id}...`` are declared here, so a literal
route such as ``/api/agents/tasks`` from a router included earlier wins over these.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from baton.api.deps import Caller, Cursor, Limit, Svc
from baton.api.schemas import AgentCreate, AgentPublic, AgentUpdate, AgentVersionPublic, PageOut
from baton.domain.agents import Agent, AgentSpec, AgentStatus, AgentVersion
from baton.services.agents import AgentChanges, AgentDefinition

router = APIRouter(prefix="/api/agents")


def _spec_doc(spec: AgentSpec) -> dict[str, Any]:
    return {
        "capabilities": list(spec.capabilities),
        "tools": spec.tools_json(),
        "config": spec.config.to_json(),
    }


def agent_doc(agent: Agent) -> dict[str, Any]:
    """An agent in the API's shape (``AgentPublic``), its current version flattened in."""
    return {
        "id": agent.id,
        "name": agent.name,
        "description": agent.description,
        "status": agent.status,
        "version": agent.version,
        **_spec_doc(agent.spec),
        "global": agent.is_global,
        "created_at": agent.created_at,
        "updated_at": agent.updated_at,
    }


def version_doc(version: AgentVersion) -> dict[str, Any]:
    """A version in the API's shape (``AgentVersionPublic``)."""
    return {
        "version": version.version,
        **_spec_doc(version.spec),
        "created_by": version.created_by,
        "created_at": version.created_at,
    }


@router.post("", name="agents.create", status_code=201, response_model=AgentPublic)
async def create_agent(body: AgentCreate, caller: Caller, svc: Svc) -> object:
    """Register an agent; it starts at version 1."""
    definition = AgentDefinition(**body.model_dump())
    return agent_doc(await svc.agents.create(caller, definition))


@router.get("", name="agents.list", response_model=PageOut[AgentPublic])
async def list_agents(
    caller: Caller,
    svc: Svc,
    capability: Annotated[
        list[str] | None, Query(description="any of these (repeat or comma-separate)")
    ] = None,
    status: AgentStatus | None = None,
    q: Annotated[
        str | None, Query(max_length=200, description="text in name or description")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> object:
    """The tenant's and the global agents, oldest first, filtered."""
    wanted = [c.strip() for value in capability or () for c in value.split(",") if c.strip()]
    page = await svc.agents.search(
        caller, capabilities=wanted, status=status, q=q, cursor=cursor, limit=limit
    )
    return {"items": [agent_doc(a) for a in page.items], "next_cursor": page.next_cursor}


@router.get("/{agent_id}", name="agents.get", response_model=AgentPublic)
async def get_agent(agent_id: str, caller: Caller, svc: Svc) -> object:
    """One agent with its current version."""
    return agent_doc(await svc.agents.get(caller, agent_id))


@router.patch("/{agent_id}", name="agents.update", response_model=AgentPublic)
async def update_agent(agent_id: str, body: AgentUpdate, caller: Caller, svc: Svc) -> object:
    """Change fields; changed capabilities, tools or config make the next version."""
    changes = AgentChanges(**body.model_dump(exclude_unset=True))
    return agent_doc(await svc.agents.update(caller, agent_id, changes))


@router.delete("/{agent_id}", name="agents.delete", response_model=AgentPublic)
async def delete_agent(agent_id: str, caller: Caller, svc: Svc) -> object:
    """Deactivate an agent (never removed: tasks reference its versions); returns it."""
    return agent_doc(await svc.agents.deactivate(caller, agent_id))


@router.get(
    "/{agent_id}/versions", name="agents.versions", response_model=PageOut[AgentVersionPublic]
)
async def list_versions(
    agent_id: str, caller: Caller, svc: Svc, limit: Limit = 100, cursor: Cursor = None
) -> object:
    """Every version of an agent, oldest first."""
    page = await svc.agents.versions(caller, agent_id, cursor=cursor, limit=limit)
    return {"items": [version_doc(v) for v in page.items], "next_cursor": page.next_cursor}
