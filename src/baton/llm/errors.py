"""The failures an LLM provider can report, independent of which SDK raised them.

Wrappers decide what to do from the type alone: ``retryable`` errors are retried with
backoff, a few more are worth a fallback provider, the rest go straight to the caller.
"""

from __future__ import annotations


class LLMError(Exception):
    """Base of every provider failure.

    Attributes:
        message: A human-readable explanation.
        provider: The Baton provider name that failed, when known.
        status: The HTTP status the provider answered, when there was one.
        retryable: Whether trying the same request again may succeed.
    """

    code = "llm_error"
    retryable = False

    def __init__(
        self, message: str, *, provider: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status

    def __str__(self) -> str:
        where = f"{self.provider}: " if self.provider else ""
        return f"{where}{self.message}"


class RateLimited(LLMError):
    """The provider throttled us (HTTP 429); ``retry_after`` seconds when it said so."""

    code = "rate_limited"
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        provider: str | None = None,
        status: int | None = 429,
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.retry_after = retry_after


class ProviderUnavailable(LLMError):
    """A transient failure: 5xx, overload, connection refused or dropped, timeout."""

    code = "provider_unavailable"
    retryable = True


class ContextLengthExceeded(LLMError):
    """The conversation does not fit the model's context window."""

    code = "context_length_exceeded"


class InvalidRequest(LLMError):
    """The provider rejected the request as malformed (a 400); sending it again won't help."""

    code = "invalid_request"


class ModelError(LLMError):
    """The model produced output the provider could not use (e.g. Groq ``tool_use_failed``)."""

    code = "model_error"


class AuthenticationFailed(LLMError):
    """The key is missing, wrong or lacks permission (401/403)."""

    code = "authentication_failed"


class ConversationError(LLMError):
    """Baton's own check found a conversation the provider's API would reject."""

    code = "conversation_error"


class ProviderConfigurationError(LLMError):
    """A provider cannot be built: unknown name, missing base URL, missing install."""

    code = "provider_configuration_error"
