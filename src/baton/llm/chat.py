"""One-shot chat for the ``baton chat`` command."""

from __future__ import annotations

from collections.abc import Callable

from baton.domain.messages import ChatMessage, LLMResponse, StreamDone, TextDelta, ToolCallCompleted
from baton.llm.provider import LLMProvider
from baton.llm.registry import build_provider
from baton.llm.settings import LLMSettings


def default_provider(settings: LLMSettings) -> str:
    """The provider to use when none is named: the first hosted one with a key, else local."""
    if settings.openai_api_key:
        return "openai"
    if settings.anthropic_api_key:
        return "anthropic"
    if settings.groq_api_key:
        return "groq"
    return "local"


def _print(text: str) -> None:
    print(text, end="", flush=True)


async def run_chat(
    llm_settings: LLMSettings,
    prompt: str,
    provider: str | None = None,
    model: str | None = None,
    out: Callable[[str], None] = _print,
    *,
    llm: LLMProvider | None = None,
) -> LLMResponse:
    """Send ``prompt`` to a model, streaming the reply to ``out``.

    Tool calls the model makes (none are offered, but some models try) are printed on
    their own lines. The output ends with a newline.

    Args:
        llm_settings: The LLM settings.
        prompt: The user's message.
        provider: The provider name; the default (see ``default_provider``) when ``None``
            and ``model`` is not an alias.
        model: A model name or alias; the provider's default when ``None``.
        out: Receives the text as it streams.
        llm: A provider to use instead of building one (tests).

    Returns:
        The whole reply.

    Raises:
        LLMError: When the provider cannot be built or fails.
    """
    if provider is None and model not in llm_settings.model_aliases:
        provider = default_provider(llm_settings)
    chosen = llm or build_provider(provider, model, llm_settings)
    response: LLMResponse | None = None
    ended_with_newline = True
    try:
        async for event in chosen.stream([ChatMessage.user(prompt)]):
            if isinstance(event, TextDelta):
                out(event.text)
                ended_with_newline = event.text.endswith("\n")
            elif isinstance(event, ToolCallCompleted):
                call = event.tool_call
                prefix = "" if ended_with_newline else "\n"
                out(f"{prefix}[tool call] {call.name}({call.raw_arguments})\n")
                ended_with_newline = True
            elif isinstance(event, StreamDone):
                response = event.response
    finally:
        if llm is None:
            await chosen.aclose()
    if not ended_with_newline:
        out("\n")
    assert response is not None  # every stream ends with StreamDone
    return response
