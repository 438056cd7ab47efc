"""The Celery application of the Celery peer benchmarks (imported by the worker too).

Broker and result backend are Redis databases of their own (BENCH_CELERY_BROKER_DB,
BENCH_CELERY_RESULT_DB, default 13 and 14), which the benchmark empties before each run.
"""

from __future__ import annotations

import json
import os
from typing import Any

from celery import Celery
from openai import OpenAI  # at import: before prefork's fork, after gevent's patching

from bench.peers._common import ADD_TOOL_SCHEMA, API_KEY, MODEL

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
BROKER_DB = int(os.environ.get("BENCH_CELERY_BROKER_DB", "13"))
RESULT_DB = int(os.environ.get("BENCH_CELERY_RESULT_DB", "14"))
QUEUE = "baton_bench"

app = Celery(
    "baton_bench",
    broker=f"{REDIS_URL}/{BROKER_DB}",
    backend=f"{REDIS_URL}/{RESULT_DB}",
)
app.conf.update(
    task_acks_late=True,
    task_default_queue=QUEUE,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=3600,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)

_clients: dict[str, Any] = {}


@app.task(name="bench.add")
def add(a: int, b: int) -> int:
    return a + b


@app.task(name="bench.agent")
def agent(base_url: str, prompt: str) -> str:
    """The agent task unit with the sync openai SDK: ask, run `add`, send, answer."""
    client = _clients.get(base_url)
    if client is None:
        client = _clients[base_url] = OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    for _ in range(5):
        response = client.chat.completions.create(
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
            args = json.loads(call.function.arguments)
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": str(args["a"] + args["b"])}
            )
    raise RuntimeError("agent did not finish in 5 turns")
