import hashlib
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.domain.audit import (
    EMPTY_ROOT,
    MalformedAuditData,
    MerkleAccumulator,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# Test data of certificate-transparency / transparency-dev/merkle (proof/verify_test.go).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_HASHES = [leaf_hash(d) for d in CT_LEAVES]
CT_ROOTS = [
    bytes.fromhex(h)
    for h in [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]


def _h(*hexes: str) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


# (0-based index, tree size, proof)
CT_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        _h(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        5,
        8,
        _h(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (2, 3, _h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (
        1,
        5,
        _h(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
]

# (old size, new size, proof)
CT_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        _h(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        _h(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (
        2,
        5,
        _h(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (
        6,
        7,
        _h(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
]

LEAVES_64 = [leaf_hash(f"leaf {i}".encode()) for i in range(64)]
ROOTS_64 = [root(LEAVES_64[:n]) for n in range(65)]
OTHER = hashlib.sha256(b"some other hash").digest()


def test_hash_primitives_use_rfc6962_domain_separation() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root([]) == EMPTY_ROOT
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_ct_test_vectors(size: int) -> None:
    assert root(CT_HASHES[:size]) == CT_ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION)
def test_inclusion_proofs_match_the_ct_test_vectors(
    index: int, size: int, proof: list[bytes]
) -> None:
    assert inclusion_proof(index, CT_HASHES[:size]) == proof
    assert verify_inclusion(index, size, CT_HASHES[index], proof, CT_ROOTS[size - 1])


@pytest.mark.parametrize(("old", "new", "proof"), CT_CONSISTENCY)
def test_consistency_proofs_match_the_ct_test_vectors(
    old: int, new: int, proof: list[bytes]
) -> None:
    assert consistency_proof(old, CT_HASHES[:new]) == proof
    assert verify_consistency(old, new, CT_ROOTS[old - 1], CT_ROOTS[new - 1], proof)


def _mutations(proof: list[bytes]) -> Iterator[tuple[str, list[bytes]]]:
    for i, node in enumerate(proof):
        for pos in (0, 17, 31):
            flipped = bytearray(node)
            flipped[pos] ^= 0x10
            yield f"byte {pos} of [{i}] flipped", [*proof[:i], bytes(flipped), *proof[i + 1 :]]
        yield f"[{i}] dropped", proof[:i] + proof[i + 1 :]
        yield f"[{i}] duplicated", [*proof[: i + 1], node, *proof[i + 1 :]]
    yield "hash appended", [*proof, OTHER]
    yield "hash prepended", [OTHER, *proof]
    yield "empty hash appended", [*proof, b""]
    yield "short hash appended", [*proof, OTHER[:31]]


def _all_indices() -> Iterator[tuple[int, int]]:
    for size in range(1, 65):
        for index in range(size):
            yield index, size


def test_every_inclusion_proof_up_to_64_verifies_and_every_mutation_fails() -> None:
    for index, size in _all_indices():
        leaves, tree_root, leaf = LEAVES_64[:size], ROOTS_64[size], LEAVES_64[index]
        proof = inclusion_proof(index, leaves)
        assert verify_inclusion(index, size, leaf, proof, tree_root), (index, size)
        for what, bad in _mutations(proof):
            assert not verify_inclusion(index, size, leaf, bad, tree_root), (index, size, what)
        for bad_index, bad_size in [
            (index - 1, size),
            (index + 1, size),
            (index ^ 2, size),
            (index, size * 2),
            (index, size // 2),
            (index, 0),
            (-1, size),
        ]:
            assert not verify_inclusion(bad_index, bad_size, leaf, proof, tree_root), (
                index,
                size,
                bad_index,
                bad_size,
            )
        assert not verify_inclusion(index, size, OTHER, proof, tree_root)
        assert not verify_inclusion(index, size, leaf, proof, EMPTY_ROOT)
        assert not verify_inclusion(index, size, leaf, proof, OTHER)


def test_every_consistency_proof_up_to_64_verifies_and_every_mutation_fails() -> None:
    for new in range(1, 65):
        for old in range(1, new + 1):
            proof = consistency_proof(old, LEAVES_64[:new])
            r1, r2 = ROOTS_64[old], ROOTS_64[new]
            assert verify_consistency(old, new, r1, r2, proof), (old, new)
            if old == new:
                assert proof == []
                continue
            for what, bad in [*_mutations(proof), ("empty", [])]:
                assert not verify_consistency(old, new, r1, r2, bad), (old, new, what)
            for bad_old, bad_new in [
                (old - 1, new),
                (old + 1, new),
                (old ^ 2, new),
                (old, new * 2),
                (old, new // 2),
                (new, old),
            ]:
                assert not verify_consistency(bad_old, bad_new, r1, r2, proof), (
                    old,
                    new,
                    bad_old,
                    bad_new,
                )
            assert not verify_consistency(old, new, r2, r1, proof)
            assert not verify_consistency(old, new, OTHER, r2, proof)
            assert not verify_consistency(old, new, r1, OTHER, proof)


def test_consistency_edge_cases() -> None:
    r1 = ROOTS_64[1]
    assert consistency_proof(0, LEAVES_64[:5]) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOTS_64[5], [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 5, OTHER, ROOTS_64[5], [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, ROOTS_64[5], [EMPTY_ROOT])
    assert verify_consistency(1, 1, r1, r1, [])
    assert not verify_consistency(1, 1, r1, OTHER, [])
    assert not verify_consistency(1, 1, r1, r1, [r1])
    assert not verify_consistency(2, 1, ROOTS_64[2], r1, [])
    assert not verify_consistency(-1, 1, r1, r1, [])
    assert not verify_consistency(1, 2, b"short", ROOTS_64[2], [LEAVES_64[1]])


def test_proof_builders_reject_out_of_range_arguments() -> None:
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(3, LEAVES_64[:3])
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(-1, LEAVES_64[:3])
    with pytest.raises(ValueError, match="outside"):
        consistency_proof(4, LEAVES_64[:3])


def test_accumulator_root_matches_root_for_every_size_up_to_200() -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(200)]
    acc = MerkleAccumulator()
    assert acc.root() == EMPTY_ROOT
    for n, leaf in enumerate(leaves, start=1):
        acc.append(leaf)
        assert acc.size == n
        assert len(acc.frontier) == n.bit_count()
        assert acc.root() == root(leaves[:n]), n


def test_accumulator_matches_the_ct_vectors() -> None:
    acc = MerkleAccumulator()
    for n, leaf in enumerate(CT_HASHES, start=1):
        acc.append(leaf)
        assert acc.root() == CT_ROOTS[n - 1]


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(st.binary(max_size=8), max_size=80),
    cut=st.integers(min_value=0, max_value=80),
)
def test_accumulator_resumes_from_its_saved_state(data: list[bytes], cut: int) -> None:
    leaves = [leaf_hash(d) for d in data]
    cut = min(cut, len(leaves))
    first = MerkleAccumulator()
    for leaf in leaves[:cut]:
        first.append(leaf)
    resumed = MerkleAccumulator.from_json(first.to_json())
    assert resumed == first
    for leaf in leaves[cut:]:
        resumed.append(leaf)
    assert resumed.size == len(leaves)
    assert resumed.root() == root(leaves)


def test_accumulator_copy_is_independent() -> None:
    acc = MerkleAccumulator()
    acc.append(LEAVES_64[0])
    clone = acc.copy()
    clone.append(LEAVES_64[1])
    assert acc.size == 1
    assert clone.root() == ROOTS_64[2]


@pytest.mark.parametrize(
    "state",
    [
        None,
        [],
        {"size": 3, "hashes": [LEAVES_64[0].hex()]},
        {"size": 1, "hashes": []},
        {"size": -1, "hashes": []},
        {"size": "1", "hashes": [LEAVES_64[0].hex()]},
        {"size": 1, "hashes": ["zz"]},
        {"size": 1, "hashes": ["abcd"]},
        {"size": 1, "hashes": [1]},
        {"size": 1},
    ],
)
def test_accumulator_rejects_malformed_state(state: object) -> None:
    with pytest.raises(MalformedAuditData):
        MerkleAccumulator.from_json(state)


def test_accumulator_rejects_malformed_leaves() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleAccumulator().append(b"short")
