"""Classify a provider's HTTP error answer into Baton's error taxonomy.

Shared by every HTTP adapter: OpenAI, Groq, OpenAI-compatible servers and Anthropic all
answer with a status, headers and a JSON body of the form ``{"error": {...}}``.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from baton.llm.errors import (
    AuthenticationFailed,
    ContextLengthExceeded,
    InvalidRequest,
    LLMError,
    ModelError,
    ProviderUnavailable,
    RateLimited,
)

_CONTEXT_WORDS = re.compile(
    r"context.length|context.window|maximum context|prompt is too long|too many tokens"
    r"|reduce the length",
    re.IGNORECASE,
)
_TRANSIENT_TYPES = {"overloaded_error", "api_error", "server_error", "service_unavailable"}
_AUTH_TYPES = {"authentication_error", "permission_error", "invalid_api_key"}


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait according to ``retry-after-ms`` or ``retry-after`` (seconds or a date).

    Args:
        headers: Response headers (case-insensitive mapping, or lower-case keys).
        now: The current Unix time, for HTTP-date values; defaults to ``time.time()``.

    Returns:
        A non-negative number of seconds, or ``None`` when absent or unreadable.
    """
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _error_object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        return {}
    inner = body.get("error")
    return inner if isinstance(inner, Mapping) else body


def error_from_response(
    provider: str,
    status: int | None,
    headers: Mapping[str, str],
    body: object,
    fallback_message: str = "",
) -> LLMError:
    """The taxonomy error for one error answer.

    Args:
        provider: The Baton provider name.
        status: The HTTP status, or ``None`` for an error event inside a stream.
        headers: The response headers.
        body: The decoded JSON body (either ``{"error": {...}}`` or the inner object).
        fallback_message: Used when the body carries no message.

    Returns:
        The error to raise.
    """
    if status is not None and status < 400:  # an error event inside a 200 stream
        status = None
    error = _error_object(body)
    message = str(error.get("message") or fallback_message or f"HTTP {status}")
    kind = str(error.get("type") or "")
    code = str(error.get("code") or "")
    if "tool_use_failed" in (code, kind):
        return ModelError(message, provider=provider, status=status)
    if (
        status == 429
        or kind in ("rate_limit_error", "rate_limit_exceeded")
        or code == ("rate_limit_exceeded")
    ):
        return RateLimited(
            message, retry_after=parse_retry_after(headers), provider=provider, status=status
        )
    if status in (401, 403) or kind in _AUTH_TYPES or code == "invalid_api_key":
        return AuthenticationFailed(message, provider=provider, status=status)
    if status == 413 or code == "context_length_exceeded" or _CONTEXT_WORDS.search(message):
        return ContextLengthExceeded(message, provider=provider, status=status)
    if status is None or status >= 500 or status == 408 or kind in _TRANSIENT_TYPES:
        return ProviderUnavailable(message, provider=provider, status=status)
    return InvalidRequest(message, provider=provider, status=status)


def transport_error(
    provider: str,
    exc: BaseException,
    timeout: float | None,
    connection_errors: tuple[type[BaseException], ...] = (),
) -> LLMError:
    """The taxonomy error for a connection that failed, dropped or timed out.

    The deepest exception in ``exc``'s cause chain that is one of ``connection_errors``
    decides whether it was a timeout: the SDKs' aiohttp transport re-raises aiohttp
    errors as httpx ones, and the openai SDK's copy turns every aiohttp connection error
    (a refused connection, a server that hung up) into ``ConnectTimeout``, which the SDK
    then raises as ``APITimeoutError``; aiohttp's own timeouts are ``TimeoutError``.
    """
    decisive, cause, seen = exc, exc.__cause__, {id(exc)}
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, connection_errors):
            decisive = cause
        cause = cause.__cause__
    name = type(decisive).__name__.lower()
    if isinstance(decisive, TimeoutError) or "timeout" in name:
        limit = f" after {timeout:g}s" if timeout is not None else ""
        return ProviderUnavailable(f"request timed out{limit}", provider=provider)
    detail = str(decisive if decisive is not exc else exc.__cause__ or exc)
    detail = detail or type(decisive).__name__
    return ProviderUnavailable(f"connection failed: {detail}", provider=provider)


def json_body(provider: str, status: int, content: bytes) -> dict[str, Any]:
    """The JSON object a successful answer carries.

    Raises:
        ProviderUnavailable: When the body is not a JSON object (a proxy's error page, a
            truncated answer): a transient fault, as a 5xx would be.
    """
    try:
        body = json.loads(content)
    except ValueError as exc:
        raise ProviderUnavailable(
            f"unreadable response body: {exc}", provider=provider, status=status
        ) from exc
    if not isinstance(body, dict):
        raise ProviderUnavailable(
            f"response body is not a JSON object: {content[:80]!r}",
            provider=provider,
            status=status,
        )
    return body


def error_from_sdk(
    provider: str,
    exc: BaseException,
    timeout: float | None,
    connection_errors: tuple[type[BaseException], ...],
) -> LLMError | None:
    """The taxonomy error for an exception raised by the ``openai`` or ``anthropic`` SDK.

    Both SDKs share one shape: status errors carry ``status_code``, ``response`` and
    ``body``; other API errors (error events inside a stream) carry ``body``.

    Args:
        provider: The Baton provider name.
        exc: What the SDK raised.
        timeout: The timeout in force, for the message.
        connection_errors: The SDK's (and its HTTP library's) connection error types.

    Returns:
        The error to raise instead, or ``None`` when ``exc`` is not an SDK error.
    """
    if isinstance(exc, connection_errors):
        return transport_error(provider, exc, timeout, connection_errors)
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    if not hasattr(exc, "body"):
        return None
    headers = response.headers if status is not None and response is not None else {}
    message = str(getattr(exc, "message", "") or exc)
    return error_from_response(provider, status, headers, getattr(exc, "body", None), message)
