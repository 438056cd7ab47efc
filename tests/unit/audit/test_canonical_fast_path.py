"""The json.dumps fast path of canonical_json agrees byte for byte with RFC 8785."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.domain.audit import canonical_json

_leaf = (
    st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | st.text()
)
_json = st.recursive(
    _leaf,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=500)
@given(_json)
def test_fast_path_matches_the_reference(value: object) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        return  # e.g. a lone surrogate: canonical_json must refuse it too (tested elsewhere)
    assert canonical_json(value) == expected


def test_control_characters_and_non_ascii_keys() -> None:
    value = {"é": 1, "z": '\x00\x1f\u2028"\\', "a": ["\u20ac", None, True]}
    assert canonical_json(value) == rfc8785.dumps(value)
