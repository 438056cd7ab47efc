"""Tool schemas checked and applied with RE2 patterns and size and depth caps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from baton.tools.schema_validator import (
    MAX_SCHEMA_DEPTH,
    SchemaError,
    check_schema,
    validator_for,
)


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    return [e.message for e in validator_for(json.dumps(schema)).iter_errors(instance)]


def _text(pattern: str) -> dict[str, Any]:
    return {"type": "object", "properties": {"text": {"type": "string", "pattern": pattern}}}


def _nested(levels: int) -> dict[str, Any]:
    """A schema whose JSON nests ``2 * levels + 1`` objects deep."""
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"inner": schema}}
    return schema


@pytest.mark.parametrize(
    "schema",
    [
        _text(r"^(a)\1$"),  # backreference
        _text(r"^(?=a)a$"),  # lookahead
        _text(r"(?<!x)y"),  # lookbehind
        {"type": "object", "patternProperties": {r"(\w)\1": {}}},
        {"type": "object", "$defs": {"d": {"type": "string", "pattern": "(?!a)"}}},
    ],
)
def test_patterns_re2_cannot_compile_are_refused(schema: dict[str, Any]) -> None:
    with pytest.raises(SchemaError, match="not supported"):
        check_schema(schema)


def test_over_deep_and_over_large_schemas_are_refused() -> None:
    check_schema(_nested((MAX_SCHEMA_DEPTH - 1) // 2))
    with pytest.raises(SchemaError, match="deeper than 32 levels"):
        check_schema(_nested(MAX_SCHEMA_DEPTH // 2))
    with pytest.raises(SchemaError, match="byte limit"):
        check_schema({"type": "object", "description": "d" * 70_000})


def test_valid_schemas_pass_and_invalid_ones_still_fail() -> None:
    check_schema(_text("^(a+)+$"))  # valid RE2: accepted, and matched in linear time
    # A pattern-like value in a data position is not a pattern.
    check_schema({"type": "object", "default": {"pattern": r"(a)\1"}})
    with pytest.raises(SchemaError):
        check_schema({"type": 12})


def test_pattern_and_pattern_properties_match_as_before() -> None:
    schema = _text("^[a-z]+-[0-9]{2}$")
    assert _errors(schema, {"text": "abc-12"}) == []
    assert _errors(schema, {"text": "abc-1"}) == ["'abc-1' does not match '^[a-z]+-[0-9]{2}$'"]
    assert _errors(schema, {"text": 5}) == ["5 is not of type 'string'"]
    assert _errors(_text("é"), {"text": "café"}) == []  # search, not a full match
    by_name = {"type": "object", "patternProperties": {"^n_": {"type": "integer"}}}
    assert _errors(by_name, {"n_a": 1, "other": "x"}) == []
    assert _errors(by_name, {"n_a": "x"}) == ["'x' is not of type 'integer'"]


def test_a_lone_surrogate_in_an_argument_is_an_answer_not_a_crash() -> None:
    assert _errors(_text("^a"), {"text": "a\ud800"}) == []
    assert len(_errors(_text("^b"), {"text": "a\ud800"})) == 1


def test_an_unsupported_pattern_that_reaches_validation_is_a_validation_error() -> None:
    # Schemas registered without check_schema (operator tools) still never crash a call.
    assert _errors(_text(r"(a)\1"), {"text": "aa"}) == [
        r"pattern '(a)\\1' is not supported: invalid escape sequence: \1"
    ]
