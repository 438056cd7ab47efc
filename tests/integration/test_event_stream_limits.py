"""Event streams end when their key is revoked or their lifetime is over; keys hold few."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from baton.config import Settings
from baton.domain.errors import InvalidInput
from baton.services.event_stream import resume_position
from tests.conftest import ADMIN_KEY
from tests.support.api import app_client, make_tenant


@pytest.fixture
async def fast(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    quick = settings.model_copy(update={"stream_keepalive_s": 0.1, "stream_max_lifetime_s": 600})
    async with app_client(quick, key=ADMIN_KEY) as c:
        yield c


async def _body(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    async with client.stream("GET", "/api/events", headers=headers) as response:
        assert response.status_code == 200
        return "".join([chunk async for chunk in response.aiter_text()])


async def _until_streams(client: httpx.AsyncClient, count: int) -> None:
    streams = client._transport.app.state.services.streams  # type: ignore[attr-defined]
    for _ in range(500):
        if streams.open_count == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{streams.open_count} streams running, not {count}")


async def test_a_revoked_keys_stream_ends_at_the_next_keepalive(fast: httpx.AsyncClient) -> None:
    t = await make_tenant(fast, "acme")
    created = await fast.post(
        f"/api/tenants/{t.tenant_id}/api-keys", json={"name": "watcher", "role": "viewer"}
    )
    watcher = created.json()
    stream = asyncio.create_task(_body(fast, {"Authorization": f"Bearer {watcher['key']}"}))
    await _until_streams(fast, 1)
    await asyncio.sleep(0.3)
    assert not stream.done()  # the stream stays open while the key is good
    revoked = await fast.delete(f"/api/api-keys/{watcher['id']}", headers=t.auth("admin"))
    assert revoked.status_code == 200
    body = await asyncio.wait_for(stream, 10)
    assert body.rstrip().endswith(
        '"code": "unauthenticated", "message": "invalid or revoked API key"}'
    )
    assert "event: error" in body


async def test_a_stream_ends_after_its_lifetime(settings: Settings) -> None:
    short = settings.model_copy(update={"stream_keepalive_s": 0.05, "stream_max_lifetime_s": 0.2})
    async with app_client(short) as c:
        body = await asyncio.wait_for(_body(c, {"Authorization": f"Bearer {ADMIN_KEY}"}), 10)
    assert "event: reconnect" in body
    assert body.rstrip().endswith('{"after": 0}')


async def test_a_key_holds_at_most_its_streams(settings: Settings) -> None:
    # Streams here end after 5 s, so that a request that does get a stream returns.
    one = settings.model_copy(
        update={"stream_keepalive_s": 0.1, "stream_max_lifetime_s": 5, "stream_max_per_key": 1}
    )
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with app_client(one) as c:
        first = asyncio.create_task(_body(c, auth))
        await _until_streams(c, 1)  # the first stream runs: it holds the key's one slot
        second = await c.get("/api/events", headers=auth)
        assert second.status_code == 429
        assert second.json()["error"]["code"] == "rate_limited"
        assert "event: reconnect" in await asyncio.wait_for(first, 10)
        third = await c.get("/api/events", headers=auth)  # the slot is free again
        assert third.status_code == 200 and "event: reconnect" in third.text


@pytest.mark.parametrize("value", ["²", "١٢", "abc", "-1", "1" * 30, " "])
def test_odd_event_ids_are_refused(value: str) -> None:
    with pytest.raises(InvalidInput):
        resume_position(value, None)


def test_event_ids_parse() -> None:
    assert resume_position(" 42 ", None) == 42
    assert resume_position(None, 7) == 7
    assert resume_position(None, None) == 0


async def test_a_non_ascii_event_id_is_a_4xx(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/events", headers={"Last-Event-ID": "²".encode("latin-1")})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input"
    r = await client.get("/api/events", params={"after": "١٢"})
    assert r.status_code == 422
