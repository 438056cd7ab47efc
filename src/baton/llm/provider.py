"""The port every LLM adapter and wrapper implements."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from baton.domain.messages import ChatMessage, LLMResponse, StreamEvent, ToolDefinition


@dataclass(frozen=True)
class GenerateOptions:
    """Per-call knobs; ``None`` leaves the provider's default.

    Attributes:
        temperature: Sampling temperature.
        max_tokens: Upper bound on output tokens (Anthropic needs one; 4096 when unset).
        tool_choice: ``auto``, ``none``, ``required`` or the name of one tool.
        stop: Stop sequences.
        timeout: Seconds for the whole request, overriding the configured timeout.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    tool_choice: str | None = None
    stop: tuple[str, ...] = ()
    timeout: float | None = None


DEFAULT_OPTIONS = GenerateOptions()


@runtime_checkable
class LLMProvider(Protocol):
    """A chat model that can call tools.

    ``name`` is the Baton provider name (``openai``, ``anthropic``, ...) and ``model`` the
    model it sends requests to.
    """

    name: str
    model: str

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> LLMResponse:
        """Return the model's whole reply.

        Raises:
            LLMError: One of the taxonomy in ``baton.llm.errors``.
        """
        ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> AsyncIterator[StreamEvent]:
        """Yield text deltas and completed tool calls as they arrive, then StreamDone.

        Raises:
            LLMError: One of the taxonomy in ``baton.llm.errors``, possibly mid-stream.
        """
        ...

    async def aclose(self) -> None:
        """Release connections, threads and models."""
        ...
