"""``baton tasks``: submit, inspect, list, cancel and watch agent tasks on a running server.

It talks to Baton over HTTP through :mod:`baton.client`. Exit codes: 0 when it worked,
1 when the operation failed (not found, the task failed or was cancelled, the server is
unreachable, a timeout), 2 for a bad invocation (bad arguments, input the server refused,
a missing or wrong key).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

if TYPE_CHECKING:
    from baton.client import BatonClient, Event, Task

tasks_app = typer.Typer(help="Submit, inspect and watch agent tasks on a running Baton.")
console = Console()
err = Console(stderr=True)

UrlOpt = Annotated[
    str,
    typer.Option("--url", envvar="BATON_URL", help="Baton's address", show_default=True),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="API key (default: $BATON_API_KEY, then $BATON_DATA_DIR/admin.key)",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print raw JSON")]
DEFAULT_URL = "http://127.0.0.1:8000"
_COLOURS = {
    "submitted": "yellow",
    "running": "cyan",
    "completed": "green",
    "failed": "red",
    "cancelled": "magenta",
}


def _client(url: str, key: str | None) -> BatonClient:
    from baton.client import BatonClient

    return BatonClient(url, key)


@contextmanager
def _handled() -> Iterator[None]:
    """Turn client failures into a message and an exit code, never a traceback."""
    from baton.client import (
        AuthenticationError,
        BatonAPIError,
        BatonConnectionError,
        InvalidInputError,
        PermissionDeniedError,
    )

    try:
        yield
    except (AuthenticationError, PermissionDeniedError, InvalidInputError) as exc:
        err.print(f"[red]error:[/red] {escape(exc.message)}")
        for detail in exc.details if isinstance(exc.details, list) else []:
            err.print(f"  {escape(str(detail.get('field', '')))}: {escape(str(detail))}")
        raise typer.Exit(2) from None
    except BatonAPIError as exc:
        err.print(f"[red]error ({exc.status} {exc.code}):[/red] {escape(exc.message)}")
        raise typer.Exit(1) from None
    except BatonConnectionError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    except TimeoutError as exc:
        err.print(f"[red]timeout:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    except ValueError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


def _status(status: str) -> str:
    colour = _COLOURS.get(status, "white")
    return f"[{colour}]{status}[/{colour}]"


def _when(task: Task) -> str:
    return task.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _as_json(task: Task) -> str:
    import dataclasses

    return json.dumps(dataclasses.asdict(task), default=str)


def _panel(task: Task) -> Panel:
    rows = Table.grid(padding=(0, 2))
    rows.add_column(style="bold")
    rows.add_column()
    rows.add_row("status", _status(task.status))
    rows.add_row("agent", f"{task.agent_id or '-'} (v{task.agent_version or '-'})")
    rows.add_row("type", escape(task.task_type))
    rows.add_row("retries", f"{task.retry_count}/{task.max_retries}")
    rows.add_row("created", _when(task))
    if task.output is not None:
        rows.add_row("output", escape(task.output))
    if task.error:
        rows.add_row("error", f"[red]{escape(task.error)}[/red]")
    if task.usage:
        usage = ", ".join(f"{k}={v}" for k, v in task.usage.items() if v is not None)
        rows.add_row("usage", escape(usage))
    return Panel(rows, title=f"task {task.id}", expand=False)


def _finish(task: Task) -> None:
    """Exit 1 unless the task completed."""
    if task.status != "completed":
        err.print(f"task {task.id} {_status(task.status)}: {escape(task.error or '')}")
        raise typer.Exit(1)


@tasks_app.command("submit")
def submit(
    prompt: Annotated[str, typer.Argument(help="what to ask the agent")],
    agent: Annotated[str | None, typer.Option("--agent", help="agent id")] = None,
    task_type: Annotated[
        str, typer.Option("--type", help="task type; without --agent it picks the agent")
    ] = "default",
    priority: Annotated[int, typer.Option(help="higher runs first")] = 0,
    idempotency_key: Annotated[
        str | None, typer.Option(help="a repeated key returns the first task")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="wait and print the output")] = False,
    timeout: Annotated[
        float | None, typer.Option(help="with --wait: give up after this many seconds")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    key: KeyOpt = None,
) -> None:
    """Submit a task and print its id (with --wait, its output)."""
    with _handled(), _client(url, key) as client:
        task = client.submit(
            task_type,
            prompt=prompt,
            agent_id=agent,
            priority=priority,
            idempotency_key=idempotency_key,
        )
        if not wait:
            console.print(task.id, highlight=False)
            return
        err.print(f"task {task.id} submitted; waiting…", highlight=False)
        task = client.wait(task.id, timeout=timeout)
    _finish(task)
    console.print(task.output or "", highlight=False, markup=False)


@tasks_app.command("get")
def get(
    task_id: Annotated[str, typer.Argument(help="task id")],
    as_json: JsonOpt = False,
    url: UrlOpt = DEFAULT_URL,
    key: KeyOpt = None,
) -> None:
    """Show a task: status, output, error and usage."""
    with _handled(), _client(url, key) as client:
        task = client.get(task_id)
    if as_json:
        console.print_json(_as_json(task))
    else:
        console.print(_panel(task))


def _table(tasks: list[Task], title: str = "tasks") -> Table:
    table = Table(title=title)
    for column in ("id", "status", "type", "agent", "created", "output"):
        table.add_column(column, overflow="fold" if column == "id" else "ellipsis")
    for task in tasks:
        preview = (task.output or task.error or "").replace("\n", " ")[:60]
        table.add_row(
            task.id,
            _status(task.status),
            escape(task.task_type),
            task.agent_id or "-",
            _when(task),
            escape(preview),
        )
    return table


@tasks_app.command("list")
def list_tasks(
    status: Annotated[str | None, typer.Option(help="only tasks with this status")] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="only this agent's tasks")] = None,
    limit: Annotated[int, typer.Option(min=1, help="show at most this many")] = 20,
    as_json: JsonOpt = False,
    url: UrlOpt = DEFAULT_URL,
    key: KeyOpt = None,
) -> None:
    """List tasks, newest first."""
    with _handled(), _client(url, key) as client:
        found = list(islice(client.list(agent, status, limit=min(limit, 500)), limit))
    if as_json:
        console.print_json(f"[{','.join(_as_json(t) for t in found)}]")
    else:
        console.print(_table(found))


@tasks_app.command("cancel")
def cancel(
    task_id: Annotated[str, typer.Argument(help="task id")],
    url: UrlOpt = DEFAULT_URL,
    key: KeyOpt = None,
) -> None:
    """Cancel a task (queued: at once; running: within a second)."""
    with _handled(), _client(url, key) as client:
        task = client.cancel(task_id)
    note = "" if task.terminal else " (cancel requested; it stops within a second)"
    console.print(f"{task.id}: {_status(task.status)}{note}", highlight=False)


def _describe(event: Event) -> str:
    data: dict[str, Any] = event.data if isinstance(event.data, dict) else {}
    if event.type == "status":
        extra = f" — {escape(str(data['error']))}" if data.get("error") else ""
        return f"{event.task_id} {_status(event.status or '?')}{extra}"
    details = {k: v for k, v in data.items() if k not in ("task_id", "type", "at")}
    return f"{event.task_id} {event.type} {escape(json.dumps(details, default=str))}"


def _watch_one(client: BatonClient, task_id: str) -> None:
    client.get(task_id)  # a clean 404 before streaming
    for event in client.events(task_id):
        console.print(_describe(event), highlight=False)
    task = client.get(task_id)
    console.print(_panel(task))
    _finish(task)


def _watch_all(client: BatonClient, limit: int) -> None:
    from rich.live import Live

    recent = {t.id: t for t in islice(client.list(limit=limit), limit)}

    def render() -> Table:
        newest = sorted(recent.values(), key=lambda t: t.created_at, reverse=True)[:limit]
        return _table(newest, title="tasks (live; Ctrl-C to stop)")

    if not console.is_terminal:  # piped: one line per event
        for event in client.events():
            console.print(_describe(event), highlight=False)
        return
    with Live(render(), console=console, refresh_per_second=4) as live:
        for event in client.events():
            if event.type != "status" or event.task_id is None:
                continue
            recent[event.task_id] = client.get(event.task_id)
            live.update(render())


@tasks_app.command("watch")
def watch(
    task_id: Annotated[
        str | None, typer.Argument(help="a task id; without one, all the tenant's tasks")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="rows in the live table")] = 20,
    url: UrlOpt = DEFAULT_URL,
    key: KeyOpt = None,
) -> None:
    """Follow a task's events until it ends, or a live table of the tenant's tasks."""
    try:
        with _handled(), _client(url, key) as client:
            if task_id is not None:
                _watch_one(client, task_id)
            else:
                _watch_all(client, limit)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
