"""Names that mark a secret: header names, argument and payload keys.

Values under these names never reach the audit log (the gateway redacts them), and the
http_request tool does not carry headers of these names across an origin change.
Compared case-insensitively.
"""

from __future__ import annotations

__all__ = ["SECRET_NAMES"]

SECRET_NAMES = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "api_key",
        "x-auth-token",
        "x-goog-api-key",
        "token",
        "access-token",
        "access_token",
        "private-token",
        "x-access-token",
        "refresh_token",
        "password",
        "secret",
    }
)
