"""Hypothesis strategies for conversations, tools and responses."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from baton.domain.messages import ChatMessage, LLMResponse, ToolCall, ToolDefinition, Usage

texts = st.text(max_size=30)
nonempty = st.text(min_size=1, max_size=30)
ids = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=12)
names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,15}", fullmatch=True)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
arguments = st.dictionaries(st.text(max_size=8), json_values, max_size=4)


@st.composite
def tool_calls(draw: st.DrawFn, canonical: bool) -> ToolCall:
    """A tool call; ``canonical`` ones have object arguments in Baton's own JSON form."""
    if canonical or draw(st.booleans()):
        return ToolCall.from_arguments(draw(ids), draw(names), draw(arguments))
    return ToolCall.from_raw(draw(ids), draw(names), draw(texts))


@st.composite
def conversations(draw: st.DrawFn, anthropic: bool) -> list[ChatMessage]:
    """A valid conversation that the target format can represent."""
    messages = [ChatMessage.system(draw(texts)) for _ in range(draw(st.integers(0, 2)))]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["user", "assistant", "tools", "system"]))
        if kind == "system" and not anthropic:
            messages.append(ChatMessage.system(draw(texts)))
        elif kind == "user" or kind == "system":
            name = None if anthropic else draw(st.none() | names)
            messages.append(ChatMessage.user(draw(texts), name=name))
        elif kind == "assistant":
            content = draw(texts) if anthropic else draw(st.none() | texts)
            messages.append(ChatMessage.assistant(content))
        else:
            calls = draw(
                st.lists(tool_calls(anthropic), min_size=1, max_size=3, unique_by=lambda c: c.id)
            )
            content = draw(st.none() | (nonempty if anthropic else texts))
            messages.append(ChatMessage.assistant(content, calls))
            for call in draw(st.permutations(calls)):
                failed = draw(st.booleans()) if anthropic else False
                messages.append(ChatMessage.tool(call.id, call.name, draw(texts), is_error=failed))
    return messages


tools = st.builds(
    ToolDefinition,
    name=names,
    description=texts,
    parameters=st.fixed_dictionaries(
        {
            "type": st.just("object"),
            "properties": st.dictionaries(names, st.just({"type": "string"}), max_size=3),
        }
    ),
)


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    input_tokens = draw(st.integers(0, 10**6))
    return Usage(
        input_tokens=input_tokens,
        output_tokens=draw(st.integers(0, 10**6)),
        cached_tokens=draw(st.integers(0, input_tokens)),
    )


@st.composite
def responses(draw: st.DrawFn, anthropic: bool) -> LLMResponse:
    calls = tuple(draw(st.lists(tool_calls(anthropic), max_size=3, unique_by=lambda c: c.id)))
    finish = draw(
        st.sampled_from(["tool_calls", "length"] if calls else ["stop", "length", "content_filter"])
    )
    return LLMResponse(
        content=draw(st.none() | nonempty),
        tool_calls=calls,
        finish_reason=finish,
        usage=draw(usages()),
        model=draw(texts),
        provider=draw(names),
    )
