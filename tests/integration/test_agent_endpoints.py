"""An agent's own LLM endpoint over HTTP: who may save a base_url, and which key it gets.

The abuse tried: a tenant admin points an agent's ``config.base_url`` at a server of its
own (or an internal one) to receive the operator's provider key or read what answers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from baton.config import Settings
from baton.llm.settings import LLMSettings
from baton.services.agents import AgentDefinition, local_operator
from tests.conftest import ADMIN_KEY
from tests.support.api import TenantKeys, app_client, make_tenant
from tests.support.llm_servers import OpenAIWire, ScriptedServer, Turn
from tests.support.tasks import wait_for

ALLOWED = "http://127.0.0.1:11434/v1"
OPERATOR_KEY = "sk-operator-secret"
TEAM_KEY = "sk-team-a"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The app's settings with one allowlisted endpoint and one allowed key variable."""
    llm = LLMSettings(allowed_base_urls=[ALLOWED], allowed_key_envs=["TEAM_A_OPENAI_KEY"])
    return settings.model_copy(update={"llm": llm})


def body(name: str, **config: Any) -> dict[str, Any]:
    return {
        "name": name,
        "capabilities": ["chat"],
        "config": {"provider": "openai_compatible", "model": "llama3", **config},
    }


async def test_an_admin_cannot_save_a_base_url_the_operator_did_not_allow(
    client: httpx.AsyncClient,
) -> None:
    t = await make_tenant(client, "acme")
    for url in (
        "http://attacker.example.com/v1",
        "http://127.0.0.1:11435/v1",  # another port of an allowed host
        "http://127.0.0.1:11434/v1evil",  # not a whole path segment
        "http://127.0.0.1:11434@attacker.example.com/v1",  # userinfo trick
        "http://127.0.0.1:11434/v1/../../admin",
    ):
        r = await client.post("/api/agents", json=body("a", base_url=url), headers=t.auth("admin"))
        assert r.status_code == 422, (url, r.text)
        fields = [d["field"] for d in r.json()["error"]["details"]]
        assert fields == ["config.base_url"], (url, r.text)
    r = await client.post(
        "/api/agents",
        json=body("a", base_url="http://attacker.example.com/v1", base_url_approved=True),
        headers=t.auth("admin"),
    )
    assert r.status_code == 422  # the approval is the server's to set
    assert "BATON_LLM_ALLOWED_BASE_URLS" in r.json()["error"]["message"]


async def test_an_admin_may_save_an_allowlisted_base_url_but_not_patch_it_elsewhere(
    client: httpx.AsyncClient,
) -> None:
    t = await make_tenant(client, "acme")
    r = await client.post(
        "/api/agents", json=body("a", base_url=f"{ALLOWED}/"), headers=t.auth("admin")
    )
    assert r.status_code == 201, r.text
    assert "base_url_approved" not in r.json()["config"]
    r = await client.patch(
        f"/api/agents/{r.json()['id']}",
        json={"config": body("a", base_url="http://10.0.0.5:8080/v1")["config"]},
        headers=t.auth("admin"),
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == "config.base_url"


async def test_a_superadmin_may_save_any_base_url_but_never_cloud_metadata(
    client: httpx.AsyncClient,
) -> None:
    t = await make_tenant(client, "acme")
    r = await client.post("/api/agents", json=body("own", base_url="http://10.1.2.3:8000/v1"))
    assert r.status_code == 201, r.text
    assert r.json()["config"]["base_url_approved"] is True
    for url in ("http://169.254.169.254/v1", "http://[::ffff:169.254.169.254]/v1"):
        r = await client.post("/api/agents", json=body("meta", base_url=url))
        assert r.status_code == 422, (url, r.text)
        assert r.json()["error"]["details"][0]["field"] == "config.base_url"
    # A tenant's agent approved by a superadmin stays approved while its URL stays.
    created = await _as_superadmin_in(client, t, body("team", base_url="http://10.1.2.3:8000/v1"))
    url = f"/api/agents/{created['id']}"
    r = await client.patch(url, json={"capabilities": ["chat", "more"]}, headers=t.auth("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["config"]["base_url_approved"] is True
    moved = body("team", base_url="http://10.9.9.9:8000/v1")["config"]
    r = await client.patch(url, json={"config": moved}, headers=t.auth("admin"))
    assert r.status_code == 422, r.text


async def _as_superadmin_in(
    client: httpx.AsyncClient, t: TenantKeys, doc: dict[str, Any]
) -> dict[str, Any]:
    """Create an agent in ``t`` as a superadmin acting there (as ``baton agents apply`` does)."""
    services = client._transport.app.state.services  # type: ignore[attr-defined]
    definition = AgentDefinition(doc["name"], doc["config"], capabilities=doc["capabilities"])
    agent = await services.agents.create(local_operator(t.tenant_id, "operator"), definition)
    return {"id": agent.id}


async def test_api_key_env_must_be_allowed_by_the_operator(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    for name, status in (("OPENAI_API_KEY", 422), ("BATON_SECRET_KEY", 422), ("sk-abc", 422)):
        r = await client.post(
            "/api/agents",
            json=body(name, base_url=ALLOWED, api_key_env=name),
            headers=t.auth("admin"),
        )
        assert r.status_code == status, (name, r.text)
        assert r.json()["error"]["details"][0]["field"] == "config.api_key_env"
    r = await client.post(
        "/api/agents",
        json=body("ok", base_url=ALLOWED, api_key_env="TEAM_A_OPENAI_KEY"),
        headers=t.auth("admin"),
    )
    assert r.status_code == 201, r.text


# --- at run time ---------------------------------------------------------------------------


@pytest.fixture
async def servers() -> AsyncIterator[tuple[ScriptedServer, ScriptedServer]]:
    """The operator's OpenAI endpoint and an endpoint an agent names."""
    async with ScriptedServer() as operator, ScriptedServer() as own:
        yield operator, own


def _app_client(settings: Settings) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
    return app_client(settings, key=ADMIN_KEY)


async def _run(client: httpx.AsyncClient, t: TenantKeys, config: dict[str, Any]) -> dict[str, Any]:
    name = f"agent-{len(config)}-{config.get('api_key_env', 'none')}-{config.get('base_url')}"
    r = await client.post(
        "/api/agents",
        json={"name": name[:100], "capabilities": ["chat"], "config": config},
        headers=t.auth("admin"),
    )
    assert r.status_code == 201, r.text
    task = await client.post(
        "/api/agents/tasks",
        json={"agent_id": r.json()["id"], "task_type": "chat", "input": {"prompt": "hi"}},
        headers=t.auth("admin"),
    )
    assert task.status_code in (200, 201, 202), task.text
    return await wait_for(client, task.json()["id"], headers=t.auth("admin"))


async def test_an_agent_endpoint_gets_its_own_key_and_never_the_operators(
    settings: Settings,
    servers: tuple[ScriptedServer, ScriptedServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operator, own = servers
    monkeypatch.setenv("TEAM_A_OPENAI_KEY", TEAM_KEY)
    llm = LLMSettings(
        openai_api_key=OPERATOR_KEY,
        openai_base_url=f"{operator.url}/v1",
        allowed_base_urls=[f"{own.url}/v1"],
        allowed_key_envs=["TEAM_A_OPENAI_KEY"],
        retry_attempts=1,
    )
    wire = OpenAIWire()
    operator.push(wire.json(Turn(text="from the operator's endpoint")))
    own.push(wire.json(Turn(text="with the team key")), wire.json(Turn(text="with no key")))
    secret_body = wire.error(400, "invalid_request_error", "internal-service-secret-data")
    own.push(secret_body)
    app_settings = settings.model_copy(update={"llm": llm})
    async with _app_client(app_settings) as client:
        t = await make_tenant(client, "acme")
        openai = {"provider": "openai", "model": "gpt-4o-mini"}
        by_operator = await _run(client, t, openai)
        with_key = await _run(
            client, t, {**openai, "base_url": f"{own.url}/v1", "api_key_env": "TEAM_A_OPENAI_KEY"}
        )
        without_key = await _run(client, t, {**openai, "base_url": f"{own.url}/v1/"})
        failing = await _run(client, t, {**openai, "base_url": f"{own.url}/v1/x"})
    assert by_operator["result"]["output"] == "from the operator's endpoint"
    assert with_key["result"]["output"] == "with the team key"
    assert without_key["result"]["output"] == "with no key"
    assert [r.headers["authorization"] for r in operator.requests] == [f"Bearer {OPERATOR_KEY}"]
    sent = [r.headers.get("authorization") for r in own.requests]
    assert sent == [f"Bearer {TEAM_KEY}", "Bearer not-needed", "Bearer not-needed"]
    assert failing["status"] == "failed"
    assert "HTTP 400" in failing["error"] and "internal-service-secret-data" not in str(failing)


async def test_a_stored_agent_whose_base_url_is_no_longer_allowed_does_not_run(
    settings: Settings, servers: tuple[ScriptedServer, ScriptedServer]
) -> None:
    _, own = servers
    allowed = LLMSettings(allowed_base_urls=[f"{own.url}/v1"], retry_attempts=1)
    async with _app_client(settings.model_copy(update={"llm": allowed})) as client:
        t = await make_tenant(client, "acme")
        config = {"provider": "openai_compatible", "model": "m", "base_url": f"{own.url}/v1"}
        r = await client.post(
            "/api/agents",
            json={"name": "stale", "capabilities": ["chat"], "config": config},
            headers=t.auth("admin"),
        )
        assert r.status_code == 201, r.text
    revoked = LLMSettings(retry_attempts=1)
    async with _app_client(settings.model_copy(update={"llm": revoked})) as client:
        task = await client.post(
            "/api/agents/tasks",
            json={"agent_id": r.json()["id"], "task_type": "chat", "input": {"prompt": "hi"}},
            headers=t.auth("admin"),
        )
        done = await wait_for(client, task.json()["id"], headers=t.auth("admin"))
    assert done["status"] == "failed"
    assert "BATON_LLM_ALLOWED_BASE_URLS" in done["error"]
    assert own.requests == []
