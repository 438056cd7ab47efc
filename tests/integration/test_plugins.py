"""Plugins register Python tools and task handlers at start-up."""

from __future__ import annotations

import httpx
import pytest

from baton.bootstrap import create_app
from baton.config import Settings


async def test_a_plugin_adds_a_tool_agents_can_use(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"plugins": ["baton.plugins.arithmetic"]}))
    async with app.router.lifespan_context(app):
        services = app.state.services
        assert "add" in services.handlers
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            client.headers["Authorization"] = f"Bearer {settings.admin_key.get_secret_value()}"  # type: ignore[union-attr]
            tools = (await client.get("/api/tools")).json()["items"]
            add = next(t for t in tools if t["name"] == "add")
            assert add["parameters"]["required"] == ["a", "b"]
            r = await client.post(
                "/api/agents",
                json={
                    "name": "adder",
                    "tools": ["add"],
                    "config": {"provider": "scripted", "model": "m"},
                },
            )
            assert r.status_code == 201, r.text


def test_settings_read_a_comma_separated_plugin_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_PLUGINS", "a.b, c")
    assert Settings().plugins == ["a.b", "c"]


async def test_a_missing_plugin_stops_start_up_clearly(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"plugins": ["no.such.module"]}))
    with pytest.raises(RuntimeError, match=r"no\.such\.module"):
        async with app.router.lifespan_context(app):
            pass
