"""The skeleton shared by every concrete provider: check, call, map errors, assemble.

Subclasses supply the transport (``_generate`` and ``_chunks``), how a stream chunk
feeds the assembler (``_feed``) and how their library's exceptions map to the taxonomy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import Any

from baton.domain.messages import (
    ChatMessage,
    LLMResponse,
    StreamDone,
    StreamEvent,
    ToolDefinition,
)
from baton.llm.assembly import ResponseAssembler
from baton.llm.errors import LLMError
from baton.llm.provider import DEFAULT_OPTIONS, GenerateOptions
from baton.llm.rules import Dialect, check_conversation
from baton.llm.tool_names import WireNames


class ProviderAdapter(ABC):
    """Base of the concrete providers.

    Args:
        name: The Baton provider name.
        model: The model requests go to.
        dialect: Whose conversation rules to check before sending.
        timeout: Default seconds allowed per request (per read, for streams).
    """

    def __init__(self, name: str, model: str, dialect: Dialect, timeout: float) -> None:
        self.name = name
        self.model = model
        self.dialect: Dialect = dialect
        self.timeout = timeout

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> LLMResponse:
        """Return the model's whole reply (see ``LLMProvider.generate``)."""
        check_conversation(messages, self.dialect, self.name)
        timeout = options.timeout or self.timeout
        names = WireNames.for_request(messages, tools or ())
        sent, offered = names.messages(messages), names.tools(tools or ())
        try:
            response = await self._generate(sent, offered, options, timeout)
        except Exception as exc:
            self._raise_translated(exc, timeout)
            raise
        return names.response(response)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> AsyncIterator[StreamEvent]:
        """Yield the reply as it arrives (see ``LLMProvider.stream``)."""
        check_conversation(messages, self.dialect, self.name)
        timeout = options.timeout or self.timeout
        names = WireNames.for_request(messages, tools or ())
        sent, offered = names.messages(messages), names.tools(tools or ())
        assembler = ResponseAssembler(self.name, self.model)
        try:
            async for chunk in self._chunks(sent, offered, options, timeout):
                for event in self._feed(assembler, chunk):
                    yield names.event(event)
        except Exception as exc:
            self._raise_translated(exc, timeout)
            raise
        for event in assembler.complete_all():
            yield names.event(event)
        yield names.event(StreamDone(assembler.build()))

    def _raise_translated(self, exc: Exception, timeout: float) -> None:
        """Raise the taxonomy error for ``exc``; return if it is one already or unknown."""
        if isinstance(exc, LLMError):
            return
        mapped = self._map_error(exc, timeout)
        if mapped is not None:
            raise mapped from exc

    @abstractmethod
    async def aclose(self) -> None:
        """Release the client, threads or model."""

    @abstractmethod
    async def _generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
        time_limit: float,
    ) -> LLMResponse: ...

    @abstractmethod
    def _chunks(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
        time_limit: float,
    ) -> AsyncIterator[dict[str, Any]]: ...

    @abstractmethod
    def _feed(self, assembler: ResponseAssembler, chunk: dict[str, Any]) -> list[StreamEvent]: ...

    @abstractmethod
    def _map_error(self, exc: Exception, time_limit: float) -> LLMError | None: ...
