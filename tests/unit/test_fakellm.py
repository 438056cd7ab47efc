"""The benchmark's fake LLM server: its script, and one real round trip in its own process."""

from __future__ import annotations

import http.client
import itertools
import json
from urllib.parse import urlsplit

import pytest
from bench.fakellm import parse_calls, script_reply, start_fake_llm, stream_events

PROMPT = 'add\nCALL add {"a": 2, "b": 3}'


def reply(messages: list[dict[str, object]]) -> dict[str, object]:
    counter = itertools.count()
    return script_reply(messages, lambda: next(counter))


def test_call_line_gives_a_tool_call() -> None:
    message = reply([{"role": "user", "content": PROMPT}])
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "id": "call_0",
            "type": "function",
            "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
        }
    ]


def test_several_call_lines_give_parallel_calls() -> None:
    text = 'x\nCALL add {"a": 1, "b": 1}\n  CALL mul {"a": 2, "b": 3}\nnot CALL this'
    calls = reply([{"role": "user", "content": text}])["tool_calls"]
    assert isinstance(calls, list)
    assert [(c["id"], c["function"]["name"]) for c in calls] == [
        ("call_0", "add"),
        ("call_1", "mul"),
    ]


def test_tool_result_gives_done() -> None:
    messages = [
        {"role": "user", "content": PROMPT},
        {"role": "assistant", "content": None, "tool_calls": []},
        {"role": "tool", "tool_call_id": "call_0", "content": "5"},
    ]
    assert reply(messages) == {"role": "assistant", "content": "DONE: 5"}
    messages.append(
        {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "6"}]}
    )
    assert reply(messages)["content"] == "DONE: 5; 6"


def test_no_second_call_after_a_tool_result() -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": PROMPT},
        {"role": "tool", "tool_call_id": "call_0", "content": "5"},
        {"role": "assistant", "content": "DONE: 5"},
        {"role": "user", "content": "thanks"},
    ]
    assert reply(messages) == {"role": "assistant", "content": "ECHO: thanks"}


def test_plain_prompt_is_echoed() -> None:
    assert reply([{"role": "user", "content": "hello"}])["content"] == "ECHO: hello"
    assert reply([])["content"] == "ECHO: "


def test_malformed_call_arguments_fail_loudly() -> None:
    with pytest.raises(ValueError):
        parse_calls("CALL add {not json")


def test_stream_events_end_with_done() -> None:
    body = stream_events(
        {"stream_options": {"include_usage": True}}, {"role": "assistant", "content": "DONE: 5"}, 1
    )
    events = [line[6:] for line in body.decode().split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "DONE: 5"
    assert chunks[-1]["usage"]["total_tokens"] > 0


def test_server_round_trip_keep_alive_and_stream() -> None:
    base_url, stop = start_fake_llm(0)
    try:
        url = urlsplit(base_url)
        conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)
        for _ in range(3):  # one keep-alive connection
            body = json.dumps({"model": "m", "messages": [{"role": "user", "content": PROMPT}]})
            conn.request(
                "POST", url.path + "/chat/completions", body, {"content-type": "application/json"}
            )
            response = conn.getresponse()
            assert response.status == 200
            data = json.loads(response.read())
            assert data["choices"][0]["finish_reason"] == "tool_calls"
        body = json.dumps({"stream": True, "messages": [{"role": "user", "content": "hi"}]})
        conn.request(
            "POST", url.path + "/chat/completions", body, {"content-type": "application/json"}
        )
        response = conn.getresponse()
        assert response.getheader("content-type") == "text/event-stream"
        assert response.read().endswith(b"data: [DONE]\n\n")
        conn.request("POST", url.path + "/chat/completions", b"{}", {"x-fake-latency-ms": "1"})
        assert conn.getresponse().status == 400
        conn.close()
    finally:
        stop()
