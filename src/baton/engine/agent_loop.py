"""The agent loop: model → tool calls through the gateway → model … → final answer.

Every step is audited (the prompt, each model response; the gateway audits each tool
call and result). Tool results are journalled per task, so a retried attempt that makes
the same call at the same step reuses the result instead of running the tool again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from typing import Any, Protocol

from baton.domain.agents import AgentSpec
from baton.domain.audit import AuditEntryType
from baton.domain.audit.log import AuditEvent
from baton.domain.messages import ChatMessage, LLMResponse, ToolCall, ToolDefinition, Usage
from baton.domain.tasks import PermanentFailure, Task, TransientFailure
from baton.domain.tools import ToolResult
from baton.engine.providers import ProviderPool
from baton.llm.errors import LLMError
from baton.llm.provider import GenerateOptions
from baton.llm.wire_openai import messages_from_openai, messages_to_openai
from baton.queue.worker import TaskContext
from baton.tools.registry import ToolContext

SpecLookup = Callable[[str, int], Awaitable[AgentSpec]]


class Gateway(Protocol):
    """The part of the tool gateway the loop uses."""

    async def definitions(self, grants: Sequence[Any], tenant_id: str) -> list[ToolDefinition]:
        """Schemas of the granted tools."""
        ...

    async def call(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        """Answer one tool call."""
        ...


class Auditor(Protocol):
    """The part of the audit log the loop uses."""

    async def append(self, event: AuditEvent) -> Any:
        """Record one event."""
        ...


def initial_messages(system_prompt: str, task_input: dict[str, Any]) -> list[ChatMessage]:
    """The conversation a task starts with: the system prompt, then its prompt or messages."""
    messages = [ChatMessage.system(system_prompt)] if system_prompt else []
    if task_input.get("messages"):
        messages += messages_from_openai(task_input["messages"])
    if task_input.get("prompt"):
        messages.append(ChatMessage.user(task_input["prompt"]))
    return messages


def call_key(step: int, call: ToolCall) -> str:
    """The journal key of a tool call: its step, name and arguments (ids differ per attempt)."""
    text = json.dumps([step, call.name, call.raw_arguments], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def tool_message(call: ToolCall, result: ToolResult) -> ChatMessage:
    """The tool message answering ``call``."""
    if result.success:
        content = result.data if isinstance(result.data, str) else json.dumps(result.data)
    else:
        content = json.dumps({"error": result.error})
    return ChatMessage.tool(call.id, call.name, content, is_error=not result.success)


class AgentRunner:
    """Runs agent tasks: the handler for tasks of kind ``agent``."""

    def __init__(
        self,
        specs: SpecLookup,
        providers: ProviderPool,
        gateway: Gateway,
        audit: Auditor,
        max_tool_calls: int = 16,
    ) -> None:
        """Run agents found by ``specs`` on ``providers``'s models through ``gateway``.

        Args:
            specs: Looks up an agent version.
            providers: The shared LLM providers.
            gateway: Answers tool calls.
            audit: Where every step is recorded.
            max_tool_calls: Tool calls run per model response; the rest are refused, so
                one response cannot start an unbounded number of tools at once.
        """
        self._max_tool_calls = max_tool_calls
        self._specs = specs
        self._providers = providers
        self._gateway = gateway
        self._audit = audit

    async def _record(self, task: Task, kind: AuditEntryType, payload: dict[str, Any]) -> None:
        event = AuditEvent(task.tenant_id, kind, payload, agent_id=task.agent_id, task_id=task.id)
        await self._audit.append(event)

    async def __call__(self, task: Task, ctx: TaskContext) -> dict[str, Any]:
        """Run the loop to a final answer; raise a TaskFailure saying whether to retry."""
        if task.agent_id is None or task.agent_version is None:
            raise PermanentFailure("an agent task needs an agent and a version")
        spec = await self._specs(task.agent_id, task.agent_version)
        config = spec.config
        llm = self._providers.for_config(config)
        tools = await self._gateway.definitions(spec.tools, task.tenant_id)
        messages = initial_messages(config.system_prompt, task.input)
        options = GenerateOptions(temperature=config.temperature, max_tokens=config.max_tokens)
        deadline = time.monotonic() + (task.timeout_s or config.timeout_s)
        tool_ctx = ToolContext(
            task.tenant_id, task.agent_id, task.agent_version, task.id, spec.tools, deadline
        )
        # A first attempt has no journal yet; only retries and re-leased tasks read it.
        first_attempt = task.retry_count == 0 and task.crash_count == 0
        journal = {} if first_attempt else await ctx.queue.journal(task.id)
        await self._record(task, AuditEntryType.PROMPT, {"messages": messages_to_openai(messages)})
        usage = Usage()
        for step in range(config.max_steps):
            response = await self._generate(llm, messages, tools, options)
            usage = usage + response.usage
            await self._record(task, AuditEntryType.LLM_RESPONSE, _response_payload(response))
            messages.append(response.to_message())
            if not response.tool_calls:
                return {
                    "output": response.content,
                    "messages": messages_to_openai(messages),
                    "usage": asdict(usage),
                }
            calls = response.tool_calls
            results = list(
                await asyncio.gather(
                    *(
                        self._tool(task, ctx, tool_ctx, journal, step, c)
                        for c in calls[: self._max_tool_calls]
                    )
                )
            )
            results += [await self._refuse(task, c) for c in calls[self._max_tool_calls :]]
            messages += [
                tool_message(c, r) for c, r in zip(response.tool_calls, results, strict=True)
            ]
            await ctx.step({"step": step + 1, "tool_calls": [c.name for c in response.tool_calls]})
        raise PermanentFailure(f"max_steps ({config.max_steps}) reached without a final answer")

    @staticmethod
    async def _generate(
        llm: Any, messages: list[ChatMessage], tools: list[ToolDefinition], options: GenerateOptions
    ) -> LLMResponse:
        try:
            response: LLMResponse = await llm.generate(messages, tools or None, options)
        except LLMError as exc:
            failure = TransientFailure if exc.retryable else PermanentFailure
            raise failure(f"model error: {exc}") from exc
        return response

    async def _refuse(self, task: Task, call: ToolCall) -> ToolResult:
        reason = f"refused: at most {self._max_tool_calls} tool calls per model response"
        await self._record(
            task, AuditEntryType.TOOL_RESULT, {"tool": call.name, "success": False, "error": reason}
        )
        return ToolResult(success=False, error=reason)

    async def _tool(
        self,
        task: Task,
        ctx: TaskContext,
        tool_ctx: ToolContext,
        journal: dict[str, dict[str, Any]],
        step: int,
        call: ToolCall,
    ) -> ToolResult:
        key = call_key(step, call)
        if key in journal:
            reused = ToolResult(**journal[key])
            await self._record(
                task,
                AuditEntryType.TOOL_RESULT,
                {"tool": call.name, "reused_from_earlier_attempt": True, "success": reused.success},
            )
            return reused
        result = await self._gateway.call(call, tool_ctx)
        await ctx.queue.record_tool_call(task.id, key, asdict(result))
        return result


def _response_payload(response: LLMResponse) -> dict[str, Any]:
    return {
        "content": response.content,
        "tool_calls": [
            {"id": c.id, "name": c.name, "arguments": c.raw_arguments} for c in response.tool_calls
        ],
        "finish_reason": response.finish_reason,
        "usage": asdict(response.usage),
        "model": response.model,
        "provider": response.provider,
    }
