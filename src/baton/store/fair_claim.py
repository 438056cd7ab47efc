"""The claim's tenant side: which tenants have claimable work, and each one's best tasks.

Finding the tenants is a loose index scan (a recursive query that seeks the next tenant
id in ``ix_agent_tasks_tenant_claimable``), so its cost grows with the number of tenants
waiting, not with the backlog. Each tenant's share is then read with its own index seek,
in priority order within that tenant (``domain.fair_share`` decides the shares).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal, literal_column, or_, select

from baton.domain.fair_share import fair_shares
from baton.domain.tasks import TaskStatus
from baton.store.columns import clock_expressions
from baton.store.direct import DirectStatement
from baton.store.tables import AgentTaskRow

__all__ = ["MAX_TENANTS_PER_CLAIM", "TenantClaims"]

T = AgentTaskRow
MAX_TENANTS_PER_CLAIM = 256
"""Tenants one claim looks at; more waiting tenants are reached by later claims."""

_rotation = itertools.count()


@functools.cache
def _statements(pg: bool) -> dict[str, DirectStatement]:
    now = clock_expressions(pg)[0]
    submitted = T.status == literal_column(f"'{TaskStatus.SUBMITTED.value}'")
    due = T.available_at <= now
    first = select(func.min(T.tenant_id).label("tid"), literal(1).label("n")).where(submitted, due)
    walk = first.cte("waiting", recursive=True)
    following = (
        select(func.min(T.tenant_id))
        .where(submitted, due, T.tenant_id > walk.c.tid)
        .scalar_subquery()
    )
    walk = walk.union_all(
        select(following, walk.c.n + 1).where(
            walk.c.tid.is_not(None), walk.c.n < bindparam("max_tenants")
        )
    )
    full_agents: Any = bindparam("full_agents", expanding=True)
    one_tenant = (
        select(T.id, T.tenant_id, T.agent_id, T.agent_cap)
        .where(
            submitted,
            T.tenant_id == bindparam("tenant"),
            due,
            or_(T.agent_id.is_(None), T.agent_id.not_in(full_agents)),
            T.id.not_in(bindparam("taken", expanding=True)),
        )
        .order_by(T.rank, T.available_at, T.id)
        .limit(bindparam("limit"))
    )
    if pg:
        one_tenant = one_tenant.with_for_update(skip_locked=True)
    return {
        "waiting": DirectStatement(select(walk.c.tid).where(walk.c.tid.is_not(None))),
        "one_tenant": DirectStatement(one_tenant),
    }


class TenantClaims:
    """The tenant-fair half of ``TaskRepository.claim``, on the claim's connection."""

    def __init__(self, connection: Connection, pg: bool) -> None:
        """Work on ``connection`` (the claim's transaction) of a PostgreSQL or SQLite store."""
        self._c = connection
        self._pg = pg

    def waiting(self, now_params: dict[str, Any], skip: Sequence[str]) -> list[str]:
        """Tenants with a claimable task, ``skip`` left out, in a rotating order.

        Args:
            now_params: ``{"now": ...}`` on SQLite, empty on PostgreSQL (database clock).
            skip: Tenants already at their running cap.
        """
        rows = _statements(self._pg)["waiting"].execute(
            self._c, {**now_params, "max_tenants": MAX_TENANTS_PER_CLAIM}
        )
        skipped = set(skip)
        tenants = [r[0] for r in rows if r[0] not in skipped]
        if len(tenants) > 1:
            # Equal tenants take turns being first across claims.
            turn = next(_rotation) % len(tenants)
            tenants = tenants[turn:] + tenants[:turn]
        return tenants

    def rows(
        self,
        tenants: Sequence[str],
        running: dict[str, int],
        limit: int,
        cap: int | None,
        now_params: dict[str, Any],
        full_agents: list[str],
    ) -> list[Any]:
        """Each tenant's best claimable rows, as many as its fair share of ``limit``.

        A tenant with fewer tasks than its share leaves the rest to the tenants that
        still have more, so a claim is filled whenever enough work is waiting.
        """
        statement = _statements(self._pg)["one_tenant"]
        load = dict(running)
        open_tenants = list(tenants)
        chosen: list[Any] = []
        while open_tenants and len(chosen) < limit:
            shares = fair_shares(open_tenants, load, limit - len(chosen), cap)
            if not shares:
                break
            taken = [r.id for r in chosen]
            short: set[str] = set()
            for tenant, share in shares.items():
                params = {**now_params, "tenant": tenant, "limit": share, "taken": taken}
                got = statement.execute(self._c, {**params, "full_agents": full_agents})
                chosen.extend(got)
                load[tenant] = load.get(tenant, 0) + len(got)
                if len(got) < share:
                    short.add(tenant)
            open_tenants = [t for t in open_tenants if t not in short]
        return chosen
