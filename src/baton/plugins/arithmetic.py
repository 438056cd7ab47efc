"""An example plugin: an `add` tool agents can be granted, and an `add` task kind.

Enable it with `BATON_PLUGINS=baton.plugins.arithmetic`. The benchmarks use it (BENCH.md's
agent unit calls `add(a, b)`; its trivial task returns a + b).
"""

from __future__ import annotations

from typing import Any

from baton.domain.tasks import Task
from baton.queue.worker import TaskContext
from baton.services.container import Services
from baton.tools.registry import ToolContext

ADD_SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
    "additionalProperties": False,
}


def setup(services: Services) -> None:
    """Register the add tool and the add task handler."""

    @services.tools.function("add", "Add two integers.", ADD_SCHEMA)
    async def add_tool(arguments: dict[str, Any], ctx: ToolContext) -> int:
        return int(arguments["a"]) + int(arguments["b"])

    async def add_task(task: Task, ctx: TaskContext) -> dict[str, Any]:
        return {"output": task.input["a"] + task.input["b"]}

    services.handlers["add"] = add_task
