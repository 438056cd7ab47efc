"""The floor: a hand-written agent loop on the bare `openai` SDK (AsyncOpenAI).

Also the raw floors under it, which calibrate this machine against BENCH.md's figures: a
plain `http.client` loop for W1 and plain aiohttp for W3 (no SDK).

W1: 1,000 tasks one after another at latency 0 (ms/task).
W3: 1,000 tasks under asyncio.gather at latency 500 ms (wall seconds), with the SDK's
default HTTP client and with `DefaultAioHttpClient` when `openai[aiohttp]` is installed.
"""

from __future__ import annotations

import asyncio
import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import openai
from openai import AsyncOpenAI

from bench.peers._common import (
    ADD_TOOL_SCHEMA,
    API_KEY,
    EXPECTED,
    MODEL,
    PROMPT,
    W1_TASKS,
    W1_WARMUP,
    W3_LATENCY_MS,
    W3_TASKS,
    Timer,
    add,
    check_answers,
    cli,
    fake_llm,
    log,
)
from bench.report import Figure

SYSTEM = f"bare openai {openai.__version__} AsyncOpenAI loop"


async def agent_task(client: AsyncOpenAI) -> str:
    """Ask, run the requested tools locally, send the results, return the final answer."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
    for _ in range(5):
        response = await client.chat.completions.create(
            model=MODEL,
            messages=messages,  # type: ignore[arg-type]
            tools=[ADD_TOOL_SCHEMA],  # type: ignore[list-item]
        )
        message = response.choices[0].message
        if not message.tool_calls:
            return message.content or ""
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            if call.type != "function" or call.function.name != "add":
                raise RuntimeError(f"unexpected tool call {call}")
            result = add(**json.loads(call.function.arguments))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": str(result)})
    raise RuntimeError("agent did not finish in 5 turns")


def _client(base_url: str, aiohttp: bool) -> AsyncOpenAI:
    kwargs: dict[str, Any] = {"base_url": base_url, "api_key": API_KEY, "max_retries": 0}
    if aiohttp:
        kwargs["http_client"] = openai.DefaultAioHttpClient()
    return AsyncOpenAI(**kwargs)


def has_aiohttp() -> bool:
    try:
        openai.DefaultAioHttpClient()
    except RuntimeError:
        return False
    return True


async def w1(base_url: str) -> float:
    """Milliseconds per task, W1_TASKS tasks one after another."""
    client = _client(base_url, aiohttp=False)
    try:
        warm = [await agent_task(client) for _ in range(W1_WARMUP)]
        check_answers(warm, EXPECTED, "openai W1 warm-up")
        answers = []
        with Timer() as timer:
            for _ in range(W1_TASKS):
                answers.append(await agent_task(client))
        check_answers(answers, EXPECTED, "openai W1")
    finally:
        await client.close()
    return timer.seconds * 1000 / W1_TASKS


async def w3(base_url: str, aiohttp: bool) -> float:
    """Wall seconds for W3_TASKS tasks started at once."""
    client = _client(base_url, aiohttp=aiohttp)
    try:
        with Timer() as timer:
            answers = await asyncio.gather(*(agent_task(client) for _ in range(W3_TASKS)))
        check_answers(list(answers), EXPECTED, "openai W3")
    finally:
        await client.close()
    return timer.seconds


def raw_w1(base_url: str) -> float:
    """Milliseconds per task with http.client on one keep-alive connection."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port)
    headers = {"content-type": "application/json"}

    def call(messages: list[dict[str, Any]]) -> dict[str, Any]:
        body = json.dumps({"model": MODEL, "messages": messages, "tools": [ADD_TOOL_SCHEMA]})
        conn.request("POST", f"{url.path}/chat/completions", body, headers)
        message: dict[str, Any] = json.loads(conn.getresponse().read())["choices"][0]["message"]
        return message

    def task() -> str:
        messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
        message = call(messages)
        messages.append(message)
        for tool_call in message["tool_calls"]:
            result = add(**json.loads(tool_call["function"]["arguments"]))
            messages.append(
                {"role": "tool", "tool_call_id": tool_call["id"], "content": str(result)}
            )
        return str(call(messages)["content"])

    check_answers([task() for _ in range(W1_WARMUP)], EXPECTED, "http.client W1 warm-up")
    with Timer() as timer:
        answers = [task() for _ in range(W1_TASKS)]
    check_answers(answers, EXPECTED, "http.client W1")
    conn.close()
    return timer.seconds * 1000 / W1_TASKS


async def raw_w3(base_url: str) -> float:
    """Wall seconds for W3_TASKS tasks at once with plain aiohttp (no connection limit)."""
    endpoint = f"{base_url}/chat/completions"

    async def task(session: aiohttp.ClientSession) -> str:
        messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
        body = {"model": MODEL, "messages": messages, "tools": [ADD_TOOL_SCHEMA]}
        async with session.post(endpoint, json=body) as response:
            message = (await response.json())["choices"][0]["message"]
        messages.append(message)
        for tool_call in message["tool_calls"]:
            result = add(**json.loads(tool_call["function"]["arguments"]))
            messages.append(
                {"role": "tool", "tool_call_id": tool_call["id"], "content": str(result)}
            )
        async with session.post(endpoint, json=body) as response:
            return str((await response.json())["choices"][0]["message"]["content"])

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        with Timer() as timer:
            answers = await asyncio.gather(*(task(session) for _ in range(W3_TASKS)))
    check_answers(list(answers), EXPECTED, "aiohttp W3")
    return timer.seconds


def run(workloads: list[str]) -> list[Figure]:
    figures = []
    if "w1" in workloads:
        with fake_llm(0) as url:
            raw = raw_w1(url)
            ms = asyncio.run(w1(url))
        log(f"W1 raw http.client loop: {raw:.2f} ms/task")
        figures.append(
            Figure("W1", "raw http.client loop, no SDK", f"{raw:.2f} ms/task", "calibration")
        )
        log(f"W1 {SYSTEM}: {ms:.2f} ms/task")
        figures.append(Figure("W1", SYSTEM, f"{ms:.2f} ms/task", f"{W1_TASKS} tasks, the floor"))
    if "w3" in workloads:
        with fake_llm(W3_LATENCY_MS) as url:
            raw_seconds = asyncio.run(raw_w3(url))
        log(f"W3 raw aiohttp: {raw_seconds:.2f} s")
        figures.append(Figure("W3", "raw aiohttp, no SDK", f"{raw_seconds:.2f} s", "calibration"))
        clients = [False, True] if has_aiohttp() else [False]
        for aio in clients:
            with fake_llm(W3_LATENCY_MS) as url:
                seconds = asyncio.run(w3(url, aio))
            name = f"{SYSTEM}, {'DefaultAioHttpClient' if aio else 'default HTTP client'}"
            log(f"W3 {name}: {seconds:.2f} s")
            figures.append(
                Figure("W3", name, f"{seconds:.2f} s", f"{W3_TASKS} tasks, asyncio.gather")
            )
    return figures


if __name__ == "__main__":
    cli(run, ["w1", "w3"])
