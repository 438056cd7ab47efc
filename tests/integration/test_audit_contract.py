"""The AuditLog contract, run against the in-memory fake and the database-backed service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from baton.domain.audit import AuditEntryType, CheckpointSigner
from baton.domain.audit.log import AuditEvent, AuditFilter, AuditLog, AuditSearch
from baton.services.audit import AuditService
from baton.store.database import Database
from baton.testing import InMemoryAuditLog
from tests.support.databases import Templates, migrated_database


@pytest.fixture(params=["fake", "sqlite", "postgres"])
async def audit_log(
    request: pytest.FixtureRequest, templates: Templates, tmp_path: Path
) -> AsyncIterator[AuditLog]:
    if request.param == "fake":
        yield InMemoryAuditLog(checkpoint_every=3)
        return
    with migrated_database(request.param, templates, tmp_path) as url:
        database = Database(url)
        try:
            yield AuditService(database, CheckpointSigner.generate(), checkpoint_every=3)
        finally:
            await database.dispose()


def _ev(tenant: str, i: int, kind: AuditEntryType = AuditEntryType.PROMPT) -> AuditEvent:
    return AuditEvent(tenant, kind, {"n": i}, agent_id=f"a{i % 2}", task_id="t")


async def test_appends_number_each_tenant_from_zero(audit_log: AuditLog) -> None:
    seqs = [(await audit_log.append(_ev("x", i))).seq for i in range(5)]
    assert seqs == [0, 1, 2, 3, 4]
    assert (await audit_log.append(_ev("y", 0))).seq == 0


async def test_search_filters_and_pages_the_same_way(audit_log: AuditLog) -> None:
    for i in range(7):
        await audit_log.append(
            _ev("x", i, AuditEntryType.TOOL_CALL if i % 3 else AuditEntryType.PROMPT)
        )
    page = await audit_log.search("x", AuditSearch(AuditFilter(agent_id="a1"), limit=2))
    assert [e.record.seq for e in page.items] == [5, 3]
    rest = await audit_log.search(
        "x", AuditSearch(AuditFilter(agent_id="a1"), limit=2, cursor=page.next_cursor)
    )
    assert [e.record.seq for e in rest.items] == [1]
    assert rest.next_cursor is None
    prompts = await audit_log.search(
        "x", AuditSearch(AuditFilter(entry_type="prompt"), newest_first=False)
    )
    assert [e.record.seq for e in prompts.items] == [0, 3, 6]
    assert prompts.items[0].payload == {"n": 0}
    assert (await audit_log.search("nobody", AuditSearch())).items == []


async def test_verify_passes_and_counts_checkpoints(audit_log: AuditLog) -> None:
    for i in range(7):
        await audit_log.append(_ev("x", i))
    report = await audit_log.verify("x")
    assert report.valid and report.checked == 7
    assert report.checkpoints_verified == 3  # sizes 1, 4, 7
