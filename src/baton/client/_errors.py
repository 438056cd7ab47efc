"""The client's exceptions, built from the server's ``{"error": {...}}`` shape."""

from __future__ import annotations

import json
from typing import Any

import httpx


class BatonClientError(Exception):
    """Base of every error the Baton client raises."""


class BatonConnectionError(BatonClientError):
    """The server could not be reached, or the connection broke and could not be resumed."""


class BatonAPIError(BatonClientError):
    """The server answered with an error.

    Attributes:
        status: The HTTP status code.
        code: The machine-readable error code (``not_found``, ``invalid_input``, ...).
        message: The human-readable message.
        details: Extra structured details (validation errors name their fields here).
    """

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class AuthenticationError(BatonAPIError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(BatonAPIError):
    """403: the key's role may not do this."""


class NotFoundError(BatonAPIError):
    """404: no such resource in the key's tenant."""


class ConflictError(BatonAPIError):
    """409: the request conflicts with the current state."""


class InvalidInputError(BatonAPIError):
    """422: the request was understood but refused; ``details`` names the fields."""


class RateLimitError(BatonAPIError):
    """429: too many requests; ``retry_after`` is the server's hint in seconds, if any."""

    retry_after: float | None = None


class ServerError(BatonAPIError):
    """5xx: the server failed (a bug, or a proxy in front of it is unhappy)."""


_CLASSES: dict[int, type[BatonAPIError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidInputError,
    429: RateLimitError,
}


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = json.loads(response.content or b"null")
    except ValueError:
        return {}
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else {}


def api_error(response: httpx.Response) -> BatonAPIError:
    """The exception for an error response (its body must have been read).

    Args:
        response: An HTTP response with a 4xx or 5xx status.

    Returns:
        The matching ``BatonAPIError`` subclass, filled from the error shape when present.
    """
    status = response.status_code
    error = _body(response)
    fallback = response.reason_phrase or "error"
    text = response.text.strip()[:200] if not error else ""
    cls = _CLASSES.get(status, ServerError if status >= 500 else BatonAPIError)
    exc = cls(
        status,
        str(error.get("code") or f"http_{status}"),
        str(error.get("message") or text or fallback),
        error.get("details"),
    )
    if isinstance(exc, RateLimitError):
        try:
            exc.retry_after = float(response.headers.get("Retry-After", ""))
        except ValueError:
            exc.retry_after = None
    return exc


def raise_for_error(response: httpx.Response) -> None:
    """Raise the matching ``BatonAPIError`` when ``response`` is an error."""
    if response.status_code >= 400:
        raise api_error(response)


def connection_error(request_url: object, exc: httpx.TransportError) -> BatonConnectionError:
    """Wrap an httpx transport failure, naming the URL and the cause."""
    reason = str(exc) or type(exc).__name__
    return BatonConnectionError(f"cannot reach Baton at {request_url}: {reason}")
