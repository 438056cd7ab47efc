"""DirectStatement runs Core statements on the driver's cursor exactly as Core would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, bindparam, select

from baton.store.database import Database
from baton.store.direct import DirectStatement
from baton.store.tables import AuditHeadRow, Base

H = AuditHeadRow
_INSERT = DirectStatement(Base.metadata.tables["audit_heads"].insert())
_SELECT = DirectStatement(
    select(H.size, H.frontier, H.last_created_at, H.checkpoint_at)
    .where(H.tenant_id == bindparam("tenant_id"))
    .order_by(H.tenant_id)
)
_CORE_SELECT = select(H.size, H.frontier, H.last_created_at, H.checkpoint_at).where(
    H.tenant_id == bindparam("tenant_id")
)
_BUMP = DirectStatement(
    H.__table__.update()
    .where(H.tenant_id == bindparam("t"), H.size < 1000)  # 1000: a literal bound by Core
    .values(size=H.size + bindparam("by"))
)
MOMENT = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _row(tenant: str, size: int) -> dict[str, object]:
    return {
        "tenant_id": tenant,
        "size": size,
        "frontier": ["ab", "cd"],
        "last_created_at": MOMENT,
        "checkpoint_size": 0,
        "checkpoint_at": None,
    }


async def test_writes_and_reads_convert_values_like_core(database: Database) -> None:
    def write(conn: Connection) -> None:
        _INSERT.execute_many(conn, [_row("a", 1), _row("b", 2)])
        _BUMP.execute(conn, {"t": "a", "by": 5})

    await database.run(write)

    def read(conn: Connection) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        direct = _SELECT.execute(conn, {"tenant_id": "a"})
        core = [tuple(r) for r in conn.execute(_CORE_SELECT, {"tenant_id": "a"})]
        return direct, core

    direct, core = await database.run(read, write=False)
    assert direct == core == [(6, ["ab", "cd"], MOMENT, None)]
    last_created_at = direct[0][2]
    assert isinstance(last_created_at, datetime) and last_created_at.tzinfo is not None

    def missing(conn: Connection) -> list[tuple[object, ...]]:
        return _SELECT.execute(conn, {"tenant_id": "nobody"})

    assert await database.run(missing, write=False) == []


async def test_a_failed_transaction_takes_the_direct_writes_with_it(database: Database) -> None:
    def write_then_fail(conn: Connection) -> None:
        _INSERT.execute_many(conn, [_row("gone", 1)])
        raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await database.run(write_then_fail)

    def read(conn: Connection) -> list[tuple[object, ...]]:
        return _SELECT.execute(conn, {"tenant_id": "gone"})

    assert await database.run(read, write=False) == []


async def test_expanding_lists_of_any_length(database: Database) -> None:
    by_tenants = DirectStatement(
        select(H.tenant_id, H.size)
        .where(H.tenant_id.in_(bindparam("ids", expanding=True)), H.size > bindparam("least"))
        .order_by(H.tenant_id)
    )

    def write(conn: Connection) -> None:
        _INSERT.execute_many(conn, [_row(f"t{i}", i) for i in range(6)])

    await database.run(write)

    def read(conn: Connection) -> list[list[tuple[object, ...]]]:
        return [
            by_tenants.execute(conn, {"ids": ids, "least": 1})
            for ids in (["t1", "t2", "t5"], ["t4"], [], ["t0", "t3", "t2", "t1", "t9"])
        ]

    found = await database.run(read, write=False)
    assert found == [[("t2", 2), ("t5", 5)], [("t4", 4)], [], [("t2", 2), ("t3", 3)]]
    assert found[0][0].tenant_id == "t2" and found[0][0].size == 2  # rows have names

    def many(conn: Connection) -> None:
        by_tenants.execute_many(conn, [{"ids": ["t1"], "least": 0}])

    with pytest.raises(ValueError, match="expanding"):
        await database.run(many, write=False)
