"""LangGraph's prebuilt ReAct agent (`create_react_agent`) with langchain-openai.

W1: 1,000 tasks one after another at latency 0, without and with the SQLite checkpointer
(AsyncSqliteSaver on a file, a thread per task) (ms/task).
W3: 1,000 tasks under asyncio.gather at latency 500 ms, no checkpointer (wall seconds).
"""

from __future__ import annotations

import asyncio
import tempfile
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from langgraph.prebuilt import create_react_agent

from bench.peers._common import (
    API_KEY,
    EXPECTED,
    MODEL,
    PROMPT,
    W1_TASKS,
    W1_WARMUP,
    W3_LATENCY_MS,
    W3_TASKS,
    Timer,
    check_answers,
    cli,
    fake_llm,
    log,
)
from bench.report import Figure

SYSTEM = (
    f"LangGraph {version('langgraph')} ReAct agent (langchain-openai {version('langchain-openai')})"
)


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def make_agent(base_url: str, checkpointer: Any = None) -> Any:
    model = ChatOpenAI(model=MODEL, base_url=base_url, api_key=API_KEY, max_retries=0)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return create_react_agent(model, [add], checkpointer=checkpointer)


async def agent_task(agent: Any, thread: str | None) -> str:
    config = {"configurable": {"thread_id": thread}} if thread else None
    state = await agent.ainvoke({"messages": [("user", PROMPT)]}, config=config)
    messages = state["messages"]
    tool_results = [m for m in messages if m.type == "tool"]
    if len(tool_results) != 1 or tool_results[0].content != "5":
        return f"garbled: {[m.type for m in messages]}"
    return str(messages[-1].content)


async def w1(base_url: str, checkpoint: bool) -> float:
    """Milliseconds per task, one after another."""
    with tempfile.TemporaryDirectory() as tmp:
        if checkpoint:
            async with AsyncSqliteSaver.from_conn_string(str(Path(tmp) / "lg.db")) as saver:
                return await _w1(make_agent(base_url, saver), threads=True)
        return await _w1(make_agent(base_url), threads=False)


async def _w1(agent: Any, threads: bool) -> float:
    def thread(i: int) -> str | None:
        return f"thread-{i}" if threads else None

    warm = [await agent_task(agent, thread(-1 - i)) for i in range(W1_WARMUP)]
    check_answers(warm, EXPECTED, "LangGraph W1 warm-up")
    answers = []
    with Timer() as timer:
        for i in range(W1_TASKS):
            answers.append(await agent_task(agent, thread(i)))
    check_answers(answers, EXPECTED, "LangGraph W1")
    return timer.seconds * 1000 / W1_TASKS


async def w3(base_url: str) -> float:
    agent = make_agent(base_url)
    with Timer() as timer:
        answers = await asyncio.gather(*(agent_task(agent, None) for _ in range(W3_TASKS)))
    check_answers(list(answers), EXPECTED, "LangGraph W3")
    return timer.seconds


async def measure(workloads: list[str]) -> list[Figure]:
    # One event loop for everything: langchain-openai caches its HTTP client across
    # ChatOpenAI instances, and that client is bound to the loop that first used it.
    figures = []
    if "w1" in workloads:
        with fake_llm(0) as url:
            for checkpoint in (False, True):
                ms = await w1(url, checkpoint)
                name = f"{SYSTEM}, {'+ SQLite checkpointer' if checkpoint else 'no checkpointer'}"
                log(f"W1 {name}: {ms:.2f} ms/task")
                note = f"{W1_TASKS} tasks, ainvoke" + (", a thread per task" if checkpoint else "")
                figures.append(Figure("W1", name, f"{ms:.2f} ms/task", note))
    if "w3" in workloads:
        with fake_llm(W3_LATENCY_MS) as url:
            seconds = await w3(url)
        log(f"W3 {SYSTEM}: {seconds:.2f} s")
        figures.append(
            Figure("W3", SYSTEM, f"{seconds:.2f} s", f"{W3_TASKS} tasks, asyncio.gather, no ckpt")
        )
    return figures


def run(workloads: list[str]) -> list[Figure]:
    return asyncio.run(measure(workloads))


if __name__ == "__main__":
    cli(run, ["w1", "w3"])
