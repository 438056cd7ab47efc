import math
import struct
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

import pytest

from baton.domain.audit import CanonicalJSONError, MalformedAuditData, canonical_json
from baton.domain.audit.canonical import format_timestamp, parse_timestamp
from baton.domain.errors import InvalidInput


def test_rfc8785_section_3_2_2_example() -> None:
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = (
        '{"literals":[null,true,false],'
        '"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(value) == expected.encode("utf-8")


def test_keys_are_sorted_by_utf16_code_units() -> None:
    # RFC 8785 section 3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB33.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    out = canonical_json(value).decode("utf-8")
    keys = ["\\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    positions = [out.index(f'"{k}"') for k in keys]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("bits", "expected"),
    [
        ("0000000000000000", "0"),
        ("8000000000000000", "0"),
        ("0000000000000001", "5e-324"),
        ("8000000000000001", "-5e-324"),
        ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("ffefffffffffffff", "-1.7976931348623157e+308"),
        ("4340000000000000", "9007199254740992"),
        ("c340000000000000", "-9007199254740992"),
        ("4430000000000000", "295147905179352830000"),
        ("44b52d02c7e14af5", "9.999999999999997e+22"),
        ("44b52d02c7e14af6", "1e+23"),
        ("44b52d02c7e14af7", "1.0000000000000001e+23"),
        ("444b1ae4d6e2ef4e", "999999999999999700000"),
        ("444b1ae4d6e2ef4f", "999999999999999900000"),
        ("444b1ae4d6e2ef50", "1e+21"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
        ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("41b3de4355555553", "333333333.3333332"),
        ("41b3de4355555554", "333333333.33333325"),
        ("41b3de4355555555", "333333333.3333333"),
        ("41b3de4355555556", "333333333.3333334"),
        ("41b3de4355555557", "333333333.33333343"),
        ("becbf647612f3696", "-0.0000033333333333333333"),
        ("43143ff3c1cb0959", "1424953923781206.2"),
    ],
)
def test_rfc8785_appendix_b_numbers(bits: str, expected: str) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonical_json(number) == expected.encode()


@pytest.mark.parametrize(
    ("number", "expected"),
    [(1e30, "1e+30"), (4.50, "4.5"), (2e-3, "0.002"), (1e-7, "1e-7"), (10.0, "10"), (-0.0, "0")],
)
def test_number_formatting(number: float, expected: str) -> None:
    assert canonical_json(number) == expected.encode()


def test_integers_and_literals() -> None:
    assert canonical_json([0, -1, 2**53 - 1, None, True, False]) == (
        b"[0,-1,9007199254740991,null,true,false]"
    )


def test_string_escaping_and_non_ascii_stay_literal() -> None:
    assert canonical_json('a"b\\c\n\t\b\f\r\x00\x1f\x7f') == (
        b'"a\\"b\\\\c\\n\\t\\b\\f\\r\\u0000\\u001f\x7f"'
    )
    assert canonical_json("h\u00e9llo \u4e16\u754c \U0001f600") == (
        '"h\u00e9llo \u4e16\u754c \U0001f600"'.encode()
    )
    assert canonical_json("</script>") == b'"</script>"'


def test_nested_and_whitespace_free() -> None:
    value = {"b": [1, {"z": 1, "a": []}], "a": {}}
    assert canonical_json(value) == b'{"a":{},"b":[1,{"a":[],"z":1}]}'


def test_tuples_and_read_only_mappings_are_accepted() -> None:
    value = MappingProxyType({"b": (1, 2), "a": MappingProxyType({"x": None})})
    assert canonical_json(value) == b'{"a":{"x":null},"b":[1,2]}'


@pytest.mark.parametrize(
    "bad",
    [math.nan, math.inf, -math.inf, [1.0, math.nan], {"x": math.inf}],
    ids=["nan", "inf", "-inf", "nested-nan", "nested-inf"],
)
def test_nan_and_infinity_are_rejected(bad: object) -> None:
    with pytest.raises(CanonicalJSONError) as info:
        canonical_json(bad)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, InvalidInput)
    assert "cannot be canonicalised" in str(info.value)


@pytest.mark.parametrize(
    "bad",
    [2**53, -(2**53), {1: "x"}, "\ud800", {1, 2}, b"bytes", object()],
    ids=["big-int", "big-negative", "int-key", "lone-surrogate", "set", "bytes", "object"],
)
def test_values_without_a_canonical_form_are_rejected(bad: object) -> None:
    with pytest.raises(CanonicalJSONError):
        canonical_json(bad)


def test_timestamps_are_utc_with_microseconds() -> None:
    moment = datetime(2024, 5, 1, 14, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2024-05-01T12:00:00.000005Z"
    assert parse_timestamp("2024-05-01T12:00:00.000005Z") == moment
    assert format_timestamp(datetime(5, 1, 2, tzinfo=UTC)) == "0005-01-02T00:00:00.000000Z"


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2024, 1, 1))


@pytest.mark.parametrize(
    "text",
    ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00.000000+00:00", "2024-13-01T12:00:00.000000Z", ""],
)
def test_malformed_timestamps_are_rejected(text: str) -> None:
    with pytest.raises(MalformedAuditData):
        parse_timestamp(text)
