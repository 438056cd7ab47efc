"""Errors that the domain and services raise; the API maps each to one HTTP status."""

from __future__ import annotations

from typing import Any


class BatonError(Exception):
    """Base of every expected failure; carries a stable machine-readable code."""

    code = "error"
    status = 400

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(BatonError):
    """The request is well-formed but breaks a rule."""

    code = "invalid_input"
    status = 422


class Unauthenticated(BatonError):
    """No credentials, or credentials that match nothing."""

    code = "unauthenticated"
    status = 401


class Forbidden(BatonError):
    """The caller is known but its role may not do this."""

    code = "forbidden"
    status = 403


class NotFound(BatonError):
    """The object does not exist, or belongs to another tenant."""

    code = "not_found"
    status = 404


class Conflict(BatonError):
    """The request clashes with the current state (duplicate name, ...)."""

    code = "conflict"
    status = 409


class RateLimited(BatonError):
    """Too many requests of this kind from this caller; try again after ``retry_after_s``."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after_s: float, details: Any = None) -> None:
        super().__init__(message, details)
        self.retry_after_s = retry_after_s
