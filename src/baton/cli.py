"""The ``baton`` command line."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.panel import Panel

import baton
from baton.agents_cli import agents_app
from baton.audit_cli import audit_app
from baton.config import Settings
from baton.logs import configure_logging
from baton.tasks_cli import tasks_app

if TYPE_CHECKING:
    from baton.services.tenancy import BootstrapResult

app = typer.Typer(help="Baton: a self-hosted AI agent orchestrator.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
app.add_typer(audit_app, name="audit")
app.add_typer(agents_app, name="agents")
app.add_typer(tasks_app, name="tasks")


def load_settings() -> Settings:
    """Settings from the environment, or a clean exit naming what is wrong."""
    try:
        return Settings()
    except Exception as exc:  # pydantic's ValidationError, shown without a trace
        err.print(f"[red]invalid configuration:[/red] {exc}")
        raise typer.Exit(2) from None


def print_bootstrap(result: BootstrapResult) -> None:
    """Show the first superadmin key once, on the terminal that started Baton."""
    if result.generated:
        body = (
            f"Tenant [bold]default[/bold] and a superadmin were created.\n\n"
            f"API key (shown once): [bold green]{result.secret}[/bold green]\n"
            f"Also written to {result.key_file} (mode 0600)."
        )
    else:
        body = "Tenant [bold]default[/bold] created; its superadmin key is BATON_ADMIN_KEY."
    console.print(Panel(body, title="Baton first start"))


@app.command()
def version() -> None:
    """Print Baton's version."""
    console.print(f"baton {baton.__version__}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000)")] = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Serve the API only; run no task workers here")
    ] = False,
) -> None:
    """Serve the HTTP API and dashboard (and, unless --no-worker, the task workers)."""
    import uvicorn

    from baton.bootstrap import create_app

    settings = load_settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    updates: dict[str, object] = {}
    if no_worker:  # without the flag, BATON_RUN_WORKERS decides
        updates["run_workers"] = False
    if host:
        updates["host"] = host
    if port:
        updates["port"] = port
    settings = settings.model_copy(update=updates)
    console.print(
        f"Baton {baton.__version__} on http://{settings.host}:{settings.port} "
        f"(database: {'SQLite' if settings.is_sqlite else 'PostgreSQL'})"
    )
    application = create_app(settings, on_bootstrap=print_bootstrap, settle=True)
    uvicorn.run(
        application, host=settings.host, port=settings.port, log_config=None, access_log=False
    )


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="tasks run at once (default 100)", min=1)
    ] = None,
) -> None:
    """Run task workers only, no HTTP; many workers on many machines can share PostgreSQL."""
    import uvloop

    from baton.bootstrap import run_worker

    settings = load_settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    if concurrency:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    console.print(
        f"Baton {baton.__version__} worker (database: "
        f"{'SQLite' if settings.is_sqlite else 'PostgreSQL'})"
    )
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run_worker(settings, settle=True))


@app.command()
def chat(
    prompt: Annotated[str, typer.Argument(help="what to say to the model")],
    provider: Annotated[
        str | None, typer.Option(help="openai, anthropic, groq, openai_compatible or local")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="model name or alias (gpt-4, claude...)")
    ] = None,
) -> None:
    """Send one prompt and stream the reply; with no API key it uses the local model."""
    from baton.llm.chat import run_chat
    from baton.llm.errors import LLMError

    settings = load_settings()
    try:
        asyncio.run(run_chat(settings.llm, prompt, provider, model))
    except LLMError as exc:
        err.print(f"[red]{exc}")
        raise typer.Exit(1) from None


@app.command()
def migrate(
    action: Annotated[str, typer.Argument(help="upgrade or downgrade")] = "upgrade",
    revision: Annotated[str | None, typer.Argument(help="target revision")] = None,
) -> None:
    """Upgrade (default: to head) or downgrade (to REV) the database schema."""
    from baton.store import migrate as migrations

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    if action == "upgrade":
        asyncio.run(migrations.upgrade(url, revision or "head"))
    elif action == "downgrade":
        if not revision:
            err.print("[red]downgrade needs a target revision, e.g. `baton migrate downgrade 0001`")
            raise typer.Exit(2)
        asyncio.run(migrations.downgrade(url, revision))
    else:
        err.print(f"[red]unknown action {action!r}: use upgrade or downgrade")
        raise typer.Exit(2)
    current = asyncio.run(migrations.current_revision(url))
    console.print(f"schema at revision [bold]{current}[/bold] (head {migrations.head_revision()})")


if __name__ == "__main__":
    app()
