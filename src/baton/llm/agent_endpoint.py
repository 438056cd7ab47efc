"""A provider at an agent's own base URL: its address checked per request, its errors terse.

Whatever answers at an agent-chosen URL may be an internal service rather than a model
server, so what it says in an error body does not reach ``task.error``: only the kind
of failure and the HTTP status do.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence

from baton.domain.messages import ChatMessage, LLMResponse, StreamEvent, ToolDefinition
from baton.llm.endpoints import check_base_url_address
from baton.llm.errors import (
    ConversationError,
    LLMError,
    ModelError,
    ProviderConfigurationError,
)
from baton.llm.provider import DEFAULT_OPTIONS, GenerateOptions, LLMProvider
from baton.llm.wrapping import ProviderWrapper
from baton.tools.addresses import AddressRefused, Resolver, system_resolver

_OWN_WORDS = (ConversationError, ProviderConfigurationError)  # Baton's text, not the server's


def terse(error: LLMError) -> LLMError:
    """A copy of ``error`` that keeps its type, status and Retry-After but not its text."""
    if isinstance(error, _OWN_WORDS):
        return error
    shown = copy.copy(error)
    answer = f"HTTP {error.status}" if error.status is not None else "no HTTP answer"
    shown.message = f"{error.code} ({answer}) from the agent's base_url; its body is not shown"
    shown.args = (shown.message,)
    return shown


class AgentEndpointProvider(ProviderWrapper):
    """Wraps the adapter built for an agent's ``base_url``.

    Before each request the URL's host is resolved and every address checked (no cloud
    metadata); the SDK resolves the name again when it connects, so a name whose answer
    changes in between is not caught (the address is not pinned).

    Args:
        inner: The adapter talking to ``base_url``.
        base_url: The agent's base URL.
        resolver: Name resolution; tests pass a fake.
    """

    def __init__(
        self, inner: LLMProvider, base_url: str, resolver: Resolver = system_resolver
    ) -> None:
        super().__init__(inner)
        self.base_url = base_url
        self._resolver = resolver

    async def _check(self) -> None:
        try:
            await check_base_url_address(self.base_url, self._resolver)
        except AddressRefused as exc:
            raise ProviderConfigurationError(
                f"config.base_url refused: {exc}", provider=self.name
            ) from None

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> LLMResponse:
        """Generate after the address check; errors without the server's words."""
        await self._check()
        try:
            return await self.inner.generate(messages, tools, options)
        except LLMError as exc:
            raise terse(exc) from exc
        except Exception as exc:
            raise self._unreadable(exc) from exc

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> AsyncIterator[StreamEvent]:
        """Stream after the address check; errors without the server's words."""
        await self._check()
        try:
            async for event in self.inner.stream(messages, tools, options):
                yield event
        except LLMError as exc:
            raise terse(exc) from exc
        except Exception as exc:
            raise self._unreadable(exc) from exc

    def _unreadable(self, exc: Exception) -> LLMError:
        return ModelError(
            f"unreadable answer from the agent's base_url ({type(exc).__name__})",
            provider=self.name,
        )
