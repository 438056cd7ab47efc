"""RFC 9162 (RFC 6962) Merkle tree hashing, proofs and an O(log n) append-only accumulator."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from baton.domain.audit.errors import MalformedAuditData

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree: SHA-256 of the empty string."""


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash, SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash, SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return hashes[lo]
    k = _split(hi - lo)
    return node_hash(_mth(hashes, lo, lo + k), _mth(hashes, lo + k, hi))


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash (MTH) of a list of leaf hashes.

    Args:
        leaf_hashes: Leaf hashes (already passed through :func:`leaf_hash`), in log order.

    Returns:
        The 32-byte root; :data:`EMPTY_ROOT` for an empty list.
    """
    if not leaf_hashes:
        return EMPTY_ROOT
    return _mth(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return the audit path PATH(index, D[n]) of RFC 6962 section 2.1.1.

    Args:
        index: 0-based index of the leaf.
        leaf_hashes: All leaf hashes of the tree.

    Returns:
        The sibling hashes from the leaf up to the root.

    Raises:
        ValueError: ``index`` is outside the tree.
    """
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} is outside a tree of size {n}")
    path: list[bytes] = []
    lo, hi = 0, n
    # Walk down from the root; siblings are collected top-down, then reversed.
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(_mth(leaf_hashes, lo + k, hi))
            hi = lo + k
        else:
            path.append(_mth(leaf_hashes, lo, lo + k))
            lo = lo + k
    path.reverse()
    return path


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return the consistency proof PROOF(old_size, D[n]) of RFC 6962 section 2.1.2.

    Args:
        old_size: Size of the earlier tree, 0 <= old_size <= n.
        leaf_hashes: All leaf hashes of the current tree (size n).

    Returns:
        The proof nodes; empty when ``old_size`` is 0 or n.

    Raises:
        ValueError: ``old_size`` is negative or larger than the tree.
    """
    n = len(leaf_hashes)
    if not 0 <= old_size <= n:
        raise ValueError(f"old size {old_size} is outside 0..{n}")
    if old_size in (0, n):
        return []
    proof: list[bytes] = []
    m, lo, hi, complete = old_size, 0, n, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(_mth(leaf_hashes, lo + k, hi))
            hi = lo + k
        else:
            proof.append(_mth(leaf_hashes, lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        proof.append(_mth(leaf_hashes, lo, hi))
    proof.reverse()
    return proof


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """Check an inclusion proof with the algorithm of RFC 9162 section 2.1.3.2.

    Args:
        index: 0-based index of the leaf.
        size: Size of the tree the root belongs to.
        leaf: The leaf hash.
        proof: The audit path.
        root_hash: The expected tree root.

    Returns:
        True only if the proof shows the leaf at ``index`` in that tree; never raises on
        malformed input.
    """
    if not 0 <= index < size or not _well_formed(leaf, root_hash, *proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check a consistency proof with the algorithm of RFC 9162 section 2.1.4.2.

    RFC 9162 defines the check for 0 < old_size < new_size. Outside it: equal sizes need
    an empty proof and equal roots; old size 0 needs an empty proof and ``old_root`` equal
    to :data:`EMPTY_ROOT`; a shrinking tree is never consistent.

    Args:
        old_size: Size of the earlier tree.
        new_size: Size of the later tree.
        old_root: Root of the earlier tree.
        new_root: Root of the later tree.
        proof: The consistency proof.

    Returns:
        True only if the later tree extends the earlier one; never raises on malformed
        input.
    """
    if not 0 <= old_size <= new_size or not _well_formed(old_root, new_root, *proof):
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class MerkleAccumulator:
    """Append-only Merkle tree kept as its right frontier (a compact range from 0).

    The state is the roots of the perfect subtrees that make up the tree, largest first:
    one per set bit of the size, so O(log n) hashes. Appends are amortised O(1) hashes,
    :meth:`root` is O(log n), and the state round-trips through :meth:`to_json` so a store
    can append without re-reading the log.
    """

    __slots__ = ("_frontier", "_size")

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        """Create an accumulator, empty or restored from a saved frontier.

        Args:
            size: Number of leaves already appended.
            frontier: The perfect subtree roots, largest first (one per set bit of size).

        Raises:
            MalformedAuditData: The frontier does not fit the size.
        """
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise MalformedAuditData(f"accumulator size must be a non-negative int: {size!r}")
        if len(frontier) != size.bit_count():
            raise MalformedAuditData(
                f"accumulator of size {size} needs {size.bit_count()} hashes, got {len(frontier)}"
            )
        if not _well_formed(*frontier):
            raise MalformedAuditData("accumulator hashes must be 32 bytes each")
        self._size = size
        self._frontier = list(frontier)

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def frontier(self) -> tuple[bytes, ...]:
        """The perfect subtree roots, largest first."""
        return tuple(self._frontier)

    def append(self, leaf: bytes) -> None:
        """Append one leaf hash (already passed through :func:`leaf_hash`).

        Raises:
            ValueError: The hash is not 32 bytes.
        """
        if not _well_formed(leaf):
            raise ValueError("leaf hash must be 32 bytes")
        node = leaf
        # Each trailing 1 bit of the old size is a same-sized subtree to merge with.
        size = self._size
        while size & 1:
            node = node_hash(self._frontier.pop(), node)
            size >>= 1
        self._frontier.append(node)
        self._size += 1

    def root(self) -> bytes:
        """Return the MTH of all leaves appended so far."""
        if not self._frontier:
            return EMPTY_ROOT
        acc = self._frontier[-1]
        for node in reversed(self._frontier[:-1]):
            acc = node_hash(node, acc)
        return acc

    def copy(self) -> MerkleAccumulator:
        """Return an independent copy."""
        return MerkleAccumulator(self._size, self._frontier)

    def to_json(self) -> dict[str, object]:
        """Return ``{"size": n, "hashes": [hex, ...]}`` for storage."""
        return {"size": self._size, "hashes": [h.hex() for h in self._frontier]}

    @classmethod
    def from_json(cls, data: object) -> MerkleAccumulator:
        """Restore an accumulator saved by :meth:`to_json`.

        Raises:
            MalformedAuditData: The data is not a well-formed saved state.
        """
        if not isinstance(data, Mapping):
            raise MalformedAuditData("accumulator state must be an object")
        size, hashes = data.get("size"), data.get("hashes")
        if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
            raise MalformedAuditData("accumulator 'hashes' must be a list of hex strings")
        try:
            frontier = [bytes.fromhex(h) for h in hashes]
        except ValueError as exc:
            raise MalformedAuditData(f"accumulator hash is not hex: {exc}") from exc
        if not isinstance(size, int):
            raise MalformedAuditData("accumulator 'size' must be an integer")
        return cls(size, frontier)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MerkleAccumulator):
            return NotImplemented
        return self._size == other._size and self._frontier == other._frontier

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MerkleAccumulator(size={self._size}, root={self.root().hex()})"
