import hashlib

from baton.domain.audit import inclusion_proof, leaf_hash, root, verify_inclusion
from baton.domain.audit.tree import MerkleTree


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(n)]


def test_tree_matches_the_reference_root_and_proofs_for_every_size_up_to_70() -> None:
    for n in range(0, 71):
        leaves = _leaves(n)
        tree = MerkleTree(leaves)
        assert tree.root() == root(leaves), n
        for i in range(n):
            proof = tree.inclusion_proof(i)
            assert proof == inclusion_proof(i, leaves), (n, i)
            assert verify_inclusion(i, n, leaves[i], proof, tree.root())
