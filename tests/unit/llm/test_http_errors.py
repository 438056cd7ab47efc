"""Classifying provider error answers."""

from __future__ import annotations

import aiohttp
import httpx2
import pytest

from baton.llm.errors import (
    AuthenticationFailed,
    ContextLengthExceeded,
    InvalidRequest,
    LLMError,
    ModelError,
    ProviderUnavailable,
    RateLimited,
)
from baton.llm.http_errors import (
    error_from_response,
    json_body,
    parse_retry_after,
    transport_error,
)


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert (
        parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0)
        == 10.0
    )
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "-4"}) == 0.0


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, {"error": {"message": "slow"}}, RateLimited),
        (400, {"error": {"code": "tool_use_failed", "message": "x"}}, ModelError),
        (
            400,
            {"error": {"code": "context_length_exceeded", "message": "x"}},
            ContextLengthExceeded,
        ),
        (
            400,
            {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": "prompt is too long"},
            },
            ContextLengthExceeded,
        ),
        (413, {}, ContextLengthExceeded),
        (400, {"error": {"message": "bad"}}, InvalidRequest),
        (404, {"error": {"message": "no such model"}}, InvalidRequest),
        (401, {"error": {"message": "key"}}, AuthenticationFailed),
        (403, None, AuthenticationFailed),
        (500, None, ProviderUnavailable),
        (
            529,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            ProviderUnavailable,
        ),
        (408, None, ProviderUnavailable),
        (
            200,
            {"type": "error", "error": {"type": "overloaded_error", "message": "o"}},
            ProviderUnavailable,
        ),
        (None, {"message": "x", "type": "rate_limit_error"}, RateLimited),
        (None, {"message": "weird"}, ProviderUnavailable),
    ],
)
def test_classification(status: int | None, body: object, expected: type[LLMError]) -> None:
    error = error_from_response("p", status, {"retry-after": "2"}, body)
    assert type(error) is expected
    assert error.provider == "p"
    assert error.retryable == (expected in (RateLimited, ProviderUnavailable))


def test_message_comes_from_the_body() -> None:
    error = error_from_response("groq", 400, {}, {"error": {"message": "Failed to call"}})
    assert str(error) == "groq: Failed to call"


TRANSPORT_ERRORS = (httpx2.TransportError, aiohttp.ClientError)


def raised_from(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx2.ReadTimeout("slow"), "request timed out after 5s"),
        (httpx2.ConnectError("All connection attempts failed"), "connection failed: All conn"),
        # openai's aiohttp transport reports every aiohttp connection error as ConnectTimeout
        (
            raised_from(httpx2.ConnectTimeout("hung up"), aiohttp.ServerDisconnectedError()),
            "connection failed: Server disconnected",
        ),
        (
            raised_from(httpx2.ReadTimeout("slow"), aiohttp.SocketTimeoutError("read")),
            "request timed out after 5s",
        ),
        (
            raised_from(
                RuntimeError("Request timed out."),
                raised_from(httpx2.ConnectTimeout("x"), aiohttp.ClientOSError(111, "refused")),
            ),
            "connection failed: [Errno 111] refused",
        ),
    ],
)
def test_transport_errors(exc: BaseException, expected: str) -> None:
    error = transport_error("p", exc, 5.0, TRANSPORT_ERRORS)
    assert type(error) is ProviderUnavailable
    assert error.message.startswith(expected)


def test_json_body() -> None:
    assert json_body("p", 200, b'{"id": "x"}') == {"id": "x"}
    for content in (b"<html>bad gateway</html>", b'["a"]', b""):
        with pytest.raises(ProviderUnavailable) as caught:
            json_body("p", 200, content)
        assert caught.value.status == 200 and caught.value.provider == "p"
