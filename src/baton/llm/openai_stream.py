"""Feeding OpenAI-format stream chunks (hosted APIs and llama.cpp alike) to the assembler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from baton.domain.messages import StreamEvent, canonical_json
from baton.llm.assembly import ResponseAssembler
from baton.llm.wire_openai import usage_from_openai


def feed_openai_chunk(assembler: ResponseAssembler, chunk: Mapping[str, Any]) -> list[StreamEvent]:
    """Record one ``chat.completion.chunk``; the events it completes.

    Args:
        assembler: The reply being assembled.
        chunk: The chunk as a dict.

    Returns:
        Text deltas, and the tool calls this chunk completed (all open calls once a finish
        reason arrives).
    """
    events: list[StreamEvent] = []
    if chunk.get("model"):
        assembler.model = chunk["model"]
    if chunk.get("usage"):
        assembler.usage = usage_from_openai(chunk["usage"])
    for choice in chunk.get("choices") or ():
        if choice.get("index") not in (0, None):
            continue
        delta = choice.get("delta") or {}
        text = assembler.text(delta.get("content") or "")
        if text is not None:
            events.append(text)
        for position, call in enumerate(delta.get("tool_calls") or ()):
            function = call.get("function") or {}
            arguments = function.get("arguments")
            if isinstance(arguments, Mapping):
                arguments = canonical_json(arguments)
            index = call.get("index")
            completed = assembler.call_delta(
                position if index is None else index,
                call.get("id"),
                function.get("name"),
                arguments,
            )
            if completed is not None:
                events.append(completed)
        if choice.get("finish_reason"):
            assembler.finish_reason = choice["finish_reason"]
            events.extend(assembler.complete_all())
    return events
