"""Errors raised by the audit domain code."""

from __future__ import annotations

from baton.domain.errors import InvalidInput


class CanonicalJSONError(InvalidInput, ValueError):
    """A value has no RFC 8785 canonical form (NaN, Infinity, huge integer, bad key, ...)."""

    code = "non_canonical_json"


class MalformedAuditData(InvalidInput, ValueError):
    """Serialised audit data (a checkpoint, an accumulator state, a key) is malformed."""

    code = "malformed_audit_data"
