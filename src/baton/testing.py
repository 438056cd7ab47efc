"""Fakes of Baton's ports, for Baton's own tests and for users' tests of code built on it.

Each fake honours the same contract as the real adapter; the contract tests run against
both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from baton.domain.audit import (
    AuditRecord,
    Checkpoint,
    CheckpointSigner,
    LogVerifier,
    MerkleAccumulator,
    VerificationReport,
)
from baton.domain.audit.log import AuditEvent, AuditPage, AuditSearch, StoredEntry, seal_entry
from baton.llm.scripted import ScriptedLLM

__all__ = ["InMemoryAuditLog", "ScriptedLLM"]


class InMemoryAuditLog:
    """An AuditLog kept in memory: same hashing, checkpoints and verification as the real one."""

    def __init__(
        self,
        signer: CheckpointSigner | None = None,
        *,
        checkpoint_every: int = 1000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.signer = signer or CheckpointSigner.generate()
        self._every = checkpoint_every
        self._clock = clock
        self._entries: dict[str, list[StoredEntry]] = {}
        self._trees: dict[str, MerkleAccumulator] = {}
        self.checkpoints: dict[str, list[Checkpoint]] = {}

    async def append(self, event: AuditEvent) -> AuditRecord:
        """Record one event."""
        tree = self._trees.setdefault(event.tenant_id, MerkleAccumulator())
        entry = seal_entry(tree, event, dict(event.payload), self._clock())
        record = entry.record
        self._entries.setdefault(event.tenant_id, []).append(entry)
        signed = self.checkpoints.setdefault(event.tenant_id, [])
        if not signed or tree.size - signed[-1].size >= self._every:
            signed.append(
                self.signer.sign(event.tenant_id, tree.size, tree.root(), record.created_at)
            )
        return record

    async def search(self, tenant_id: str, query: AuditSearch) -> AuditPage:
        """A page of the tenant's entries, by seq."""
        entries = self._entries.get(tenant_id, [])
        if query.newest_first:
            entries = entries[::-1]
        if query.cursor is not None:
            cursor = query.cursor
            entries = [
                e
                for e in entries
                if (e.record.seq < cursor if query.newest_first else e.record.seq > cursor)
            ]
        matching = [e for e in entries if query.criteria.matches(e.record)]
        items = matching[: query.limit]
        more = len(matching) > query.limit
        return AuditPage(items, items[-1].record.seq if more and items else None)

    async def verify(self, tenant_id: str, trusted: Checkpoint | None = None) -> VerificationReport:
        """Verify the tenant's log exactly as the database-backed log does."""
        verifier = LogVerifier(
            tenant_id,
            self.signer.public_key,
            checkpoints=self.checkpoints.get(tenant_id, []),
            trusted_checkpoint=trusted,
        )
        for entry in self._entries.get(tenant_id, []):
            payload = (entry.nonce, entry.payload) if entry.nonce is not None else None
            if not verifier.feed(entry.record, payload, entry.leaf_hash):
                break
        return verifier.finish()
