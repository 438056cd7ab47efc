"""Every HTTP adapter against a fake server speaking its protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from baton.domain.messages import (
    ChatMessage,
    LLMResponse,
    StreamDone,
    StreamEvent,
    ToolDefinition,
)
from baton.llm.adapter import ProviderAdapter
from baton.llm.anthropic_provider import AnthropicProvider
from baton.llm.openai_compat import OpenAICompatProvider
from baton.llm.provider import DEFAULT_OPTIONS, GenerateOptions, LLMProvider
from tests.support.llm_servers import AnthropicWire, OpenAIWire, Reply, ScriptedServer, Turn, Wire

KINDS = ["openai", "groq", "openai_compatible", "anthropic"]


@dataclass
class Backend:
    """One adapter wired to its fake server."""

    kind: str
    server: ScriptedServer
    wire: Wire
    provider: ProviderAdapter
    mode: str

    def reply(self, turn: Turn) -> Reply:
        return self.wire.sse(turn) if self.mode == "stream" else self.wire.json(turn)

    async def ask(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
        provider: LLMProvider | None = None,
    ) -> tuple[LLMResponse, list[StreamEvent]]:
        return await ask(provider or self.provider, self.mode, messages, tools, options)


async def ask(
    provider: LLMProvider,
    mode: str,
    messages: Sequence[ChatMessage],
    tools: Sequence[ToolDefinition] | None = None,
    options: GenerateOptions = DEFAULT_OPTIONS,
) -> tuple[LLMResponse, list[StreamEvent]]:
    """Generate, or stream and return the final response with every event."""
    if mode == "generate":
        return await provider.generate(messages, tools, options), []
    events = [event async for event in provider.stream(messages, tools, options)]
    assert isinstance(events[-1], StreamDone)
    assert not any(isinstance(event, StreamDone) for event in events[:-1])
    return events[-1].response, events


def make_adapter(kind: str, url: str) -> ProviderAdapter:
    if kind == "anthropic":
        return AnthropicProvider("claude-test", api_key="test-key", base_url=url, timeout=5)
    return OpenAICompatProvider(
        kind,
        "gpt-test",
        api_key="test-key",
        base_url=f"{url}/v1",
        timeout=5,
        dialect="groq" if kind == "groq" else "openai",
    )


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["generate", "stream"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def running_backend(kind: str, mode: str) -> AsyncIterator[Backend]:
    async with ScriptedServer() as server:
        wire: Wire = AnthropicWire() if kind == "anthropic" else OpenAIWire()
        provider = make_adapter(kind, server.url)
        try:
            yield Backend(kind, server, wire, provider, mode)
        finally:
            await provider.aclose()


@pytest.fixture
async def backend(kind: str, mode: str) -> AsyncIterator[Backend]:
    """Every adapter, generating and streaming."""
    async with running_backend(kind, mode) as running:
        yield running


@pytest.fixture
async def stream_backend(kind: str) -> AsyncIterator[Backend]:
    """Every adapter, streaming."""
    async with running_backend(kind, "stream") as running:
        yield running


@pytest.fixture
async def groq_backend(mode: str) -> AsyncIterator[Backend]:
    """The Groq adapter, generating and streaming."""
    async with running_backend("groq", mode) as running:
        yield running
