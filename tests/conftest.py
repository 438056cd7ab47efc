"""Fixtures shared by every test: the network guard, the two databases and the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from baton.config import Settings
from baton.store.database import Database
from tests.support.api import app_client
from tests.support.databases import (
    PG_ENV,
    Templates,
    fresh_postgres,
    migrated_database,
    postgres_url,
)
from tests.support.netguard import loopback_only

ADMIN_KEY = "bk_test-superadmin-key-0123456789"


@pytest.fixture(autouse=True)
def _no_internet() -> Iterator[None]:
    """Any connection to a non-loopback address fails the test."""
    with loopback_only():
        yield


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    """Migrated database templates, built on first use."""
    t = Templates(tmp_path_factory.mktemp("templates"))
    yield t
    t.close(postgres_url())


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, templates: Templates, tmp_path: Path) -> Iterator[str]:
    """A fresh database migrated to head: once on SQLite and once on PostgreSQL."""
    with migrated_database(request.param, templates, tmp_path) as url:
        yield url


@pytest.fixture
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with no schema at all, on the engine named by the test's param."""
    engine = getattr(request, "param", "sqlite")
    if engine == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip(f"PostgreSQL half: set {PG_ENV} (CI does) to run it")
    with fresh_postgres(base) as url:
        yield url


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """A Database over the fresh test database."""
    db = Database(db_url)
    yield db
    await db.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings for an app over the fresh test database."""
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        admin_key=ADMIN_KEY,  # type: ignore[arg-type]
        auto_migrate=False,
        log_json=False,
        demo_agents=False,
        enable_test_providers=True,  # agents on the `scripted` provider
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to a started app (lifespan run) in this process."""
    async with app_client(settings, key=ADMIN_KEY) as c:
        yield c
