"""A whole Merkle tree held level by level, for many inclusion proofs at O(log n) each.

RFC 9162's tree (split at the largest power of two below n) is the same tree as pairing
nodes level by level and carrying a lone last node up unchanged, which is what this
builds in O(n) hashes.
"""

from __future__ import annotations

from collections.abc import Sequence

from baton.domain.audit.merkle import EMPTY_ROOT, node_hash


class MerkleTree:
    """All levels of the tree over ``leaf_hashes`` (level 0 = the leaves)."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaf_hashes)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            above = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            if len(below) % 2:
                above.append(below[-1])
            self.levels.append(above)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self.levels[0])

    def root(self) -> bytes:
        """The tree head (RFC 9162 MTH)."""
        return self.levels[-1][0] if self.size else EMPTY_ROOT

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The audit path of leaf ``index``, as RFC 9162 section 2.1.3.1 defines it."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} outside a tree of {self.size}")
        path = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index //= 2
        return path
