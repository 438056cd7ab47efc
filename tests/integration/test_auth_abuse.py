"""Guessing keys is slowed per address; metrics and the API schema can need a key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from baton.bootstrap import create_app
from baton.config import Settings
from tests.conftest import ADMIN_KEY
from tests.support.api import app_client


@pytest.fixture
async def strict(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    strict = settings.model_copy(update={"auth_max_failures": 5, "public_metrics": False})
    async with app_client(strict, address=("198.51.100.7", 5000)) as c:
        yield c


async def test_an_address_guessing_keys_is_refused_even_with_a_good_key(
    strict: httpx.AsyncClient,
) -> None:
    for n in range(5):
        r = await strict.get("/api/projects", headers={"Authorization": f"Bearer bk_guess{n}"})
        assert r.status_code == 401
    r = await strict.get("/api/projects", headers={"Authorization": "Bearer bk_guess9"})
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    good = await strict.get("/api/projects", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert good.status_code == 429  # a guesser cannot tell a hit from a miss


async def test_good_keys_from_an_address_are_never_counted(strict: httpx.AsyncClient) -> None:
    for _ in range(20):
        r = await strict.get("/api/projects", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert r.status_code == 200


async def test_another_address_is_not_affected(settings: Settings) -> None:
    strict = settings.model_copy(update={"auth_max_failures": 2})
    app = create_app(strict)
    async with app.router.lifespan_context(app):
        guesser = httpx.ASGITransport(app=app, client=("198.51.100.7", 5000))
        other = httpx.ASGITransport(app=app, client=("198.51.100.8", 5000))
        async with (
            httpx.AsyncClient(transport=guesser, base_url="http://baton.test") as bad,
            httpx.AsyncClient(transport=other, base_url="http://baton.test") as good,
        ):
            for _ in range(3):
                await bad.get("/api/projects", headers={"Authorization": "Bearer bk_x"})
            assert (await bad.get("/api/projects")).status_code == 429
            ok = await good.get("/api/projects", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
            assert ok.status_code == 200


@pytest.mark.parametrize("path", ["/metrics", "/openapi.json", "/docs"])
async def test_metrics_and_schema_need_a_key_when_not_public(
    strict: httpx.AsyncClient, path: str
) -> None:
    anonymous = await strict.get(path)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    keyed = await strict.get(path, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert keyed.status_code == 200
    assert (await strict.get("/redoc")).status_code == 404


@pytest.mark.parametrize("path", ["/metrics", "/openapi.json", "/docs"])
async def test_metrics_and_schema_are_public_by_default(
    client: httpx.AsyncClient, path: str
) -> None:
    del client.headers["Authorization"]
    assert (await client.get(path)).status_code == 200
