"""RFC 8785 (JCS) canonical JSON and the RFC 3339 timestamps used inside it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import rfc8785

from baton.domain.audit.errors import CanonicalJSONError, MalformedAuditData

_RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def canonical_json(value: object) -> bytes:
    """Serialise a JSON value to its RFC 8785 canonical UTF-8 bytes.

    Objects may be any ``Mapping`` with string keys and arrays any list or tuple. Integers
    must fit the IEEE 754 safe range (|n| < 2**53), as JSON numbers are doubles.

    Args:
        value: ``None``, bool, int, float, str, or lists/tuples/mappings of those.

    Returns:
        The canonical serialisation.

    Raises:
        CanonicalJSONError: The value has no canonical form (NaN, Infinity, an integer
            outside the safe range, a non-string key, a lone surrogate, an unknown type).
    """
    if _simple(value, 0):
        try:
            return json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: let the full implementation report it
    try:
        return rfc8785.dumps(_plain(value))
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalJSONError(f"value cannot be canonicalised: {exc}") from exc
    except RecursionError as exc:
        raise CanonicalJSONError("value is nested too deeply") from exc


_SAFE_INT = 2**53


def _simple(value: object, depth: int) -> bool:
    """True when ``json.dumps`` already yields the canonical form of ``value``.

    That holds without floats (whose text differs between Python and ECMAScript), with
    integers in the safe range, and with ASCII object keys (Python sorts keys by code
    point, RFC 8785 by UTF-16 unit: the two orders agree on ASCII). String escaping is
    the same in both. Audit payloads are almost always like this; anything else takes
    the full RFC 8785 implementation.
    """
    if value is None or isinstance(value, bool | str):
        return True
    if isinstance(value, int):
        return -_SAFE_INT < value < _SAFE_INT
    if depth > 64:
        return False
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and k.isascii() and _simple(v, depth + 1) for k, v in value.items()
        )
    if isinstance(value, list):
        return all(_simple(v, depth + 1) for v in value)
    return False


def _plain(value: object) -> Any:
    # rfc8785 only accepts dict for objects; other mappings are copied into one.
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def format_timestamp(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC with microseconds and a ``Z`` suffix.

    Args:
        moment: A timezone-aware datetime.

    Returns:
        For example ``2024-05-01T12:00:00.000000Z``.

    Raises:
        ValueError: The datetime is naive.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("audit timestamps must be timezone-aware")
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}Z"
    )


def parse_timestamp(text: str) -> datetime:
    """Parse a timestamp written by :func:`format_timestamp`.

    Args:
        text: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.

    Returns:
        The aware UTC datetime.

    Raises:
        MalformedAuditData: The text is not in exactly that form.
    """
    if not _RFC3339_UTC.match(text):
        raise MalformedAuditData(f"not an RFC 3339 UTC timestamp with microseconds: {text!r}")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise MalformedAuditData(f"invalid timestamp {text!r}: {exc}") from exc
