"""How a claim's free slots are shared between tenants with queued work.

Priority orders tasks within a tenant only. Across tenants each claim fills its slots by
water-filling: the next slot goes to the tenant with the fewest tasks running (counting
those this claim already gave it), so a tenant flooding the queue with urgent tasks
cannot starve another tenant's first task.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

__all__ = ["fair_shares"]


def fair_shares(
    tenants: Sequence[str],
    running: Mapping[str, int],
    slots: int,
    cap: int | None = None,
) -> dict[str, int]:
    """How many tasks each tenant may claim now.

    Args:
        tenants: Tenants with claimable tasks, in the order that breaks ties (callers
            rotate it so equal tenants take turns across claims).
        running: Tasks each tenant runs now (missing means none).
        slots: Tasks this claim may take in all.
        cap: Most tasks one tenant may run at once, or ``None`` for no cap.

    Returns:
        Tenant → slots (only tenants given at least one), summing to at most ``slots``.
    """
    heap = [(running.get(t, 0), i, t) for i, t in enumerate(dict.fromkeys(tenants))]
    heapq.heapify(heap)
    shares: dict[str, int] = {}
    for _ in range(max(slots, 0)):
        while heap and cap is not None and heap[0][0] >= cap:
            heapq.heappop(heap)
        if not heap:
            break
        load, order, tenant = heapq.heappop(heap)
        shares[tenant] = shares.get(tenant, 0) + 1
        heapq.heappush(heap, (load + 1, order, tenant))
    return shares
