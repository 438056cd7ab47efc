"""JSON Schema validation that is safe for schemas a tenant supplies (MCP tools).

``pattern`` and ``patternProperties`` are matched with RE2, whose time is linear in the
input, instead of Python's backtracking ``re``: a pattern like ``^(a+)+$`` would otherwise
hold the event loop, and every tenant's tasks with it, on an argument of forty characters.
A pattern RE2 cannot compile (backreferences, lookaround) is refused with its schema when
the tool is accepted, and so are schemas too large or too deeply nested.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any, Protocol

import re2  # type: ignore[import-untyped]
from jsonschema import (  # type: ignore[import-untyped]
    Draft202012Validator,
    FormatChecker,
    validators,
)
from jsonschema.exceptions import SchemaError, ValidationError  # type: ignore[import-untyped]

__all__ = [
    "MAX_SCHEMA_BYTES",
    "MAX_SCHEMA_DEPTH",
    "ArgumentValidator",
    "SchemaError",
    "SchemaValidator",
    "check_schema",
    "validator_for",
]

#: Largest accepted schema, serialised as compact JSON.
MAX_SCHEMA_BYTES = 64 * 1024
#: Deepest accepted nesting of objects and arrays in a schema.
MAX_SCHEMA_DEPTH = 32

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is reported to the caller, not to stderr


class ArgumentValidator(Protocol):
    """What the gateway needs of a compiled schema."""

    def iter_errors(self, instance: Any) -> Iterator[Any]:
        """Every way ``instance`` fails the schema (jsonschema ``ValidationError``)."""
        ...


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    """The RE2 form of ``pattern``.

    Raises:
        re2.error: When RE2 cannot compile it.
    """
    return re2.compile(pattern, _OPTIONS)


def _problem(pattern: str) -> str | None:
    """Why RE2 refuses ``pattern``, or None when it compiles."""
    try:
        _compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "unsupported"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", errors="replace")
        return str(reason)
    return None


def _search(pattern: str, text: str) -> bool:
    try:
        return _compiled(pattern).search(text) is not None
    except UnicodeEncodeError:
        # A lone surrogate (valid in JSON text, not in UTF-8) is matched as U+FFFD.
        clean = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return _compiled(pattern).search(clean) is not None


def _pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[Any]:
    """``pattern``, as jsonschema's own but on RE2."""
    if not validator.is_type(instance, "string"):
        return
    problem = _problem(patrn)
    if problem is not None:
        yield ValidationError(f"pattern {patrn!r} is not supported: {problem}")
    elif not _search(patrn, instance):
        yield ValidationError(f"{instance!r} does not match {patrn!r}")


def _pattern_properties(
    validator: Any, pattern_properties: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    """``patternProperties``, as jsonschema's own but on RE2."""
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        problem = _problem(pattern)
        if problem is not None:
            yield ValidationError(f"pattern {pattern!r} is not supported: {problem}")
            continue
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


SchemaValidator = validators.extend(
    Draft202012Validator,
    {"pattern": _pattern, "patternProperties": _pattern_properties},
)
"""Draft 2020-12 validation with ``pattern`` and ``patternProperties`` on RE2."""

# The metaschema marks every ``pattern`` value and ``patternProperties`` key as
# ``format: regex``; checking that format with RE2 finds exactly the schema's patterns.
_RE2_FORMATS = FormatChecker(formats=())


def _is_re2(instance: object) -> bool:
    if isinstance(instance, str):
        _compiled(instance)
    return True


_RE2_FORMATS.checks("regex", raises=re2.error)(_is_re2)


def _depth_over(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects and arrays deeper than ``limit`` (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def check_schema(schema: Mapping[str, Any]) -> None:
    """Accept ``schema`` as a tool's argument schema, or say why not.

    Raises:
        SchemaError: When it is over the size or depth cap, is not a valid Draft 2020-12
            schema, or has a pattern RE2 cannot compile (backreferences, lookaround).
    """
    if _depth_over(schema, MAX_SCHEMA_DEPTH):
        raise SchemaError(f"the schema nests deeper than {MAX_SCHEMA_DEPTH} levels")
    text = json.dumps(schema, separators=(",", ":"), ensure_ascii=False, default=str)
    size = len(text.encode("utf-8"))
    if size > MAX_SCHEMA_BYTES:
        raise SchemaError(f"the schema is {size} bytes, over the {MAX_SCHEMA_BYTES} byte limit")
    _check_text(text)


@lru_cache(maxsize=1024)
def _check_text(text: str) -> None:
    """The metaschema check of a serialised schema (servers list the same tools often)."""
    try:
        Draft202012Validator.check_schema(json.loads(text), format_checker=_RE2_FORMATS)
    except SchemaError as exc:
        if isinstance(exc.cause, re2.error):
            raise SchemaError(
                f"pattern {exc.instance!r} is not supported (RE2 syntax: no backreferences "
                f"or lookaround): {_problem(exc.instance)}"
            ) from None
        raise


@lru_cache(maxsize=256)
def validator_for(schema_json: str) -> ArgumentValidator:
    """The validator of a schema given as JSON text (cached: the gateway asks per call)."""
    validator: ArgumentValidator = SchemaValidator(json.loads(schema_json))
    return validator
