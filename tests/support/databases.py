"""Test databases: a migrated template per engine, copied cheaply for every test."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from baton.store import migrate

PG_ENV = "BATON_TEST_DATABASE_URL"


def postgres_url() -> str | None:
    """The PostgreSQL URL CI gives, or None when the PostgreSQL half cannot run here."""
    return os.environ.get(PG_ENV) or None


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


def _admin_conninfo(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def pg_execute(url: str, *statements: str) -> None:
    """Run statements with autocommit (CREATE/DROP DATABASE cannot run in a transaction)."""
    with psycopg.connect(_admin_conninfo(url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


@contextmanager
def fresh_postgres(base_url: str, template: str | None = None) -> Iterator[str]:
    """A new, empty (or template-copied) PostgreSQL database, dropped afterwards."""
    base = make_url(base_url).database
    name = f"{base}_{uuid.uuid4().hex[:10]}"
    suffix = f" TEMPLATE {template}" if template else ""
    pg_execute(base_url, f'CREATE DATABASE "{name}"{suffix}')
    try:
        yield _with_database(base_url, name)
    finally:
        pg_execute(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Templates:
    """Migrated-at-head templates, made once per test session."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._sqlite: Path | None = None
        self._pg_template: str | None = None

    def sqlite_copy(self, dest: Path) -> str:
        """A file copy of the migrated SQLite template; returns its URL."""
        if self._sqlite is None:
            path = self.workdir / "template.db"
            _run(migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
            self._sqlite = path
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._sqlite, dest)
        return f"sqlite+aiosqlite:///{dest}"

    def pg_template(self, base_url: str) -> str:
        """Name of the migrated PostgreSQL template database."""
        if self._pg_template is None:
            name = f"{make_url(base_url).database}_tpl_{uuid.uuid4().hex[:6]}"
            pg_execute(base_url, f'CREATE DATABASE "{name}"')
            _run(migrate.upgrade(_with_database(base_url, name)))
            self._pg_template = name
        return self._pg_template

    def close(self, base_url: str | None) -> None:
        """Drop the PostgreSQL template."""
        if self._pg_template and base_url:
            pg_execute(base_url, f'DROP DATABASE IF EXISTS "{self._pg_template}" WITH (FORCE)')


@contextmanager
def migrated_database(engine: str, templates: Templates, tmp_path: Path) -> Iterator[str]:
    """A fresh database at head on ``engine`` ('sqlite' or 'postgres').

    The PostgreSQL half is skipped, visibly, when no server was given.
    """
    if engine == "sqlite":
        yield templates.sqlite_copy(tmp_path / "baton.db")
        return
    base = postgres_url()
    if base is None:
        import pytest

        pytest.skip(f"PostgreSQL half: set {PG_ENV} (CI does) to run it")
    with fresh_postgres(base, templates.pg_template(base)) as url:
        yield url
